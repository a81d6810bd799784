#!/usr/bin/python3
"""Oracle corpus for host/internal/compare's Mann-Whitney U test.

Writes host/internal/compare/testdata/mwu-corpus.json: seeded random pairs of samples
(small n with heavy ties, small n without ties, mid-size and large n) with
the two-sided p-value scipy computes for each:

- "exact": scipy.stats.permutation_test on |U - n1 n2 / 2| (U of the first
  sample), alternative="greater", every partition enumerated
  (n_resamples=np.inf) -- the exact conditional distribution of U given the
  ties. Used while C(n1+n2, n1) is at most EXACT_LIMIT.
- "asymptotic": scipy.stats.mannwhitneyu(method="asymptotic",
  use_continuity=True): the tie-corrected normal approximation with
  continuity correction. Used for large n (n1 + n2 > 120, beyond pipe's
  exact limit).
- "exact-no-ties": scipy.stats.mannwhitneyu(method="exact") for mid-size
  samples without ties (too many partitions to enumerate).
- "monte-carlo": scipy.stats.permutation_test with 100,000 random
  partitions for mid-size samples with ties; its own error is about
  sqrt(p(1-p)/1e5) * 2, hence a looser tolerance in the Go test.

Deterministic: one numpy Generator seeded with SEED; rerun with Debian's
python3-scipy (1.10) and the file comes out byte for byte the same:

    /usr/bin/python3 scripts/mwu-corpus.py
"""

import json
import math
import os
import sys

import numpy as np
import scipy
from scipy import stats

SEED = 20260909
EXACT_LIMIT = 200_000  # partitions scipy enumerates per case
MC_RESAMPLES = 100_000  # random partitions for mid-size samples with ties
EXACT_N = 120  # compare.ExactLimit: pipe computes the exact p up to n1 + n2 = 120
OUT = os.path.join(os.path.dirname(__file__), "..", "host", "compare", "testdata", "mwu-corpus.json")


def u_statistic(x, y, axis=-1):
    """U of the first sample: pairs x > y, ties counting one half."""
    x = np.asarray(x)[..., :, None]
    y = np.asarray(y)[..., None, :]
    return ((x > y).sum(axis=(-2, -1)) + 0.5 * (x == y).sum(axis=(-2, -1))).astype(float)


def distance(x, y, axis=-1):
    """|U - n1 n2 / 2|: how far U lies from the centre of its distribution.
    With ties the permutation distribution of U is not symmetric, so the
    two-sided p-value is P(|U - mu| >= |u - mu|), "at least as far from the
    centre as observed" (scipy's alternative="two-sided" would double the
    smaller tail instead, which can exceed the probability of anything as
    extreme: 0.134 instead of 0.080 for the first reproducer of issue 9)."""
    return np.abs(u_statistic(x, y) - np.shape(x)[-1] * np.shape(y)[-1] / 2)


def exact_p(x, y):
    res = stats.permutation_test((x, y), distance, permutation_type="independent",
                                 vectorized=True, n_resamples=np.inf, alternative="greater")
    return float(res.pvalue)


def exact_no_ties_p(x, y):
    return float(stats.mannwhitneyu(x, y, method="exact", alternative="two-sided").pvalue)


def monte_carlo_p(x, y, rng):
    res = stats.permutation_test((x, y), distance, permutation_type="independent",
                                 vectorized=True, n_resamples=MC_RESAMPLES, alternative="greater",
                                 random_state=rng)
    return float(res.pvalue)


def asymptotic_p(x, y):
    return float(stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=True,
                                    alternative="two-sided").pvalue)


def sizes(rng, lo, hi):
    return int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))


def sample(rng, kind, n):
    if kind == "heavy-ties":  # a few distinct levels, like ms timings rounded to a tick
        levels = int(rng.integers(1, 5))
        return (rng.integers(0, levels, n) * 50 + 900).astype(float)
    if kind == "some-ties":  # one decimal of a lognormal around 30
        return np.round(rng.lognormal(math.log(30), 0.05, n), 1)
    return np.round(rng.lognormal(math.log(30), 0.05, n), 6)  # continuous: no ties


def main():
    rng = np.random.default_rng(SEED)
    cases = []

    def add(kind, lo, hi, count, shift_scale):
        made = 0
        while made < count:
            n1, n2 = sizes(rng, lo, hi)
            x = sample(rng, kind, n1)
            y = sample(rng, kind, n2)
            # Shift the second sample by a random amount (often none) so the
            # corpus spans p from ~0 to 1.
            if rng.random() < 0.6:
                y = y + float(rng.choice([-1, 1])) * shift_scale * float(rng.integers(1, 4))
            n = n1 + n2
            if n > EXACT_N:
                method, p = "asymptotic", asymptotic_p(x, y)
            elif math.comb(n, n1) <= EXACT_LIMIT:
                method, p = "exact", exact_p(x, y)
            elif len(np.unique(np.concatenate([x, y]))) == n:
                method, p = "exact-no-ties", exact_no_ties_p(x, y)
            else:
                method, p = "monte-carlo", monte_carlo_p(x, y, rng)
            cases.append({"name": f"{kind}-{len(cases)}", "method": method,
                          "old": [float(v) for v in x], "new": [float(v) for v in y], "p": p})
            made += 1

    # permutation_test needs two or more values per sample.
    add("heavy-ties", 2, 9, 350, 50)    # small n, heavy ties (incl. all-equal samples)
    add("some-ties", 2, 9, 200, 0.5)    # small n, a few ties
    add("no-ties", 2, 9, 200, 1.0)      # small n, continuous
    add("no-ties", 10, 60, 100, 0.5)     # mid n, continuous: scipy's exact U distribution
    add("some-ties", 10, 40, 50, 0.3)    # mid n, ties: 100,000 random partitions
    add("heavy-ties", 61, 200, 100, 50)  # large n, heavy ties: asymptotic
    add("some-ties", 61, 200, 100, 0.3)  # large n, some ties: asymptotic
    add("no-ties", 61, 200, 100, 0.5)    # large n, continuous: asymptotic

    doc = {
        "generator": "scripts/mwu-corpus.py",
        "seed": SEED,
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "note": "two-sided p of U: P(|U - n1 n2/2| >= observed); exact = scipy.stats.permutation_test"
                "(n_resamples=inf, alternative='greater') on |U - n1 n2/2|, "
                "asymptotic = scipy.stats.mannwhitneyu(method='asymptotic', use_continuity=True)",
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"{len(cases)} cases -> {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
