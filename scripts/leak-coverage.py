#!/usr/bin/python3
"""Coverage of slope intervals under AR(1) noise: how often the 95 % interval
of a linear trend's slope covers the true slope, for the estimators the leak
check could use (RATIONALE.md, "The leak verdict"). Seeded; 1000 trials per
series length. Run: /usr/bin/python3 scripts/leak-coverage.py [phi]

  ols         least squares, Student-t interval (the former leak check)
  sen         Theil–Sen with Sen's interval (Kendall's S variance, iid)
  sen_ar      Sen's interval widened by (1+r)/(1-r), r the lag-1
              autocorrelation of the residuals
  sen_arbias  the same with r bias-corrected, r + (2+4r)/n (host/internal/analysis)
  nw          least squares with Newey–West (Bartlett) errors,
              L = floor(4 (n/100)^(2/9))
"""
import sys
import numpy as np
from scipy.stats import norm, t as student

rng = np.random.default_rng(7)
z = norm.ppf(0.975)


def ar1(n, phi):
    e = rng.standard_normal(n + 50)
    y = np.zeros(n + 50)
    for i in range(1, n + 50):
        y[i] = phi * y[i - 1] + e[i]
    return y[50:]


def sen(x, y, f=1.0):
    n = len(x)
    i, j = np.triu_indices(n, 1)
    s = np.sort((y[j] - y[i]) / (x[j] - x[i]))
    N = len(s)
    c = z * np.sqrt(n * (n - 1) * (2 * n + 5) / 18 * f)
    lo, hi = max(int(np.floor((N - c) / 2)), 0), min(int(np.ceil((N + c) / 2)), N - 1)
    return np.median(s), s[lo], s[hi]


def r1(res):
    r = res - res.mean()
    return np.dot(r[1:], r[:-1]) / np.dot(r, r)


def sen_ar(x, y, bias):
    b, _, _ = sen(x, y)
    r = r1(y - b * x)
    if bias:
        r += (2 + 4 * r) / len(x)
    r = min(max(r, 0), 0.95)
    return sen(x, y, (1 + r) / (1 - r))


def ols(x, y):
    n = len(x)
    xc = x - x.mean()
    b = np.dot(xc, y) / np.dot(xc, xc)
    u = y - (y.mean() - b * x.mean()) - b * x
    se = np.sqrt(np.dot(u, u) / (n - 2) / np.dot(xc, xc))
    q = student.ppf(0.975, n - 2)
    return b, b - q * se, b + q * se


def newey_west(x, y):
    n = len(x)
    X = np.c_[np.ones(n), x]
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    u = y - X @ beta
    L = int(np.floor(4 * (n / 100) ** (2 / 9)))
    xc = x - x.mean()
    g = xc * u
    S = np.dot(g, g)
    for l in range(1, L + 1):
        S += 2 * (1 - l / (L + 1)) * np.dot(g[l:], g[:-l])
    se = np.sqrt(S) / np.dot(xc, xc)
    q = student.ppf(0.975, n - 2)
    return beta[1], beta[1] - q * se, beta[1] + q * se


methods = [("ols", ols), ("sen", sen), ("sen_ar", lambda x, y: sen_ar(x, y, False)),
           ("sen_arbias", lambda x, y: sen_ar(x, y, True)), ("nw", newey_west)]
phi = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
trials = 1000
print(f"AR(1) phi = {phi}, {trials} trials; coverage of the 95 % interval")
print("n     " + "  ".join(f"{m:>10}" for m, _ in methods))
for n in [10, 20, 30, 50, 100, 200]:
    x = np.arange(n, dtype=float)
    cov = dict.fromkeys([m for m, _ in methods], 0)
    for _ in range(trials):
        y = 0.3 * x + ar1(n, phi)
        for m, fn in methods:
            _, lo, hi = fn(x, y)
            cov[m] += lo <= 0.3 <= hi
    print(f"{n:<5} " + "  ".join(f"{cov[m] / trials:>10.3f}" for m, _ in methods))
