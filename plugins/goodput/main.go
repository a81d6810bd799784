// Command goodput is a first-party pipe target plugin: goodput, the share of
// runs that meet a TTFT limit and a TPOT limit together, must reach a
// minimum in every case. A case can pass p95 targets on TTFT and TPOT
// separately and still fail here, when slow prefill and slow decode hit
// different runs.
//
//	[[plugin]]
//	name = "goodput"
//	config = { ttft_ms = 500, tpot_ms = 50, min_pct = 95 }
package main

import (
	"errors"
	"fmt"

	"github.com/pipe-bench/pipe/sdk"
	"github.com/pipe-bench/pipe/sdk/schema"
)

// settings is the plugin's configuration table.
type settings struct {
	TTFTms float64 `json:"ttft_ms"` // a run's TTFT must be at most this
	TPOTms float64 `json:"tpot_ms"` // and its TPOT at most this
	MinPct float64 `json:"min_pct"` // share of runs that must meet both, %
	Case   string  `json:"case"`    // one case ID, or "" for every case
}

var cfg = settings{MinPct: 95}

func init() {
	sdk.Register(sdk.Plugin{
		Name:        "goodput",
		Version:     "1.0.0",
		Description: "target: at least min_pct % of runs meet ttft_ms and tpot_ms together",
		Configure:   configure,
		Target:      judge,
	})
}

func configure(c sdk.Config) error {
	s := settings{MinPct: 95}
	if err := c.Decode(&s); err != nil {
		return err
	}
	switch {
	case s.TTFTms <= 0 || s.TPOTms <= 0:
		return errors.New("goodput needs ttft_ms and tpot_ms limits above 0, e.g. config = { ttft_ms = 500, tpot_ms = 50 }")
	case s.MinPct <= 0 || s.MinPct > 100:
		return fmt.Errorf("goodput min_pct %g: want a percentage in (0, 100]", s.MinPct)
	}
	cfg = s
	return nil
}

func judge(r *sdk.Result) ([]sdk.Verdict, error) {
	if cfg.TTFTms <= 0 {
		return nil, errors.New("goodput is not configured: set config = { ttft_ms = …, tpot_ms = … } in its plugin table")
	}
	name := fmt.Sprintf("goodput(ttft_ms ≤ %g, tpot_ms ≤ %g) ≥ %g%%", cfg.TTFTms, cfg.TPOTms, cfg.MinPct)
	var out []sdk.Verdict
	for _, c := range r.Cases {
		if cfg.Case != "" && c.ID != cfg.Case {
			continue
		}
		good, n := 0, 0
		for _, run := range c.Runs {
			if !run.Valid {
				continue
			}
			n++
			ttft, ok1 := run.Values[schema.TTFT]
			tpot, ok2 := run.Values[schema.TPOT]
			if ok1 && ok2 && ttft <= cfg.TTFTms && tpot <= cfg.TPOTms {
				good++
			}
		}
		v := sdk.Verdict{Target: name, Case: c.ID, Metric: "goodput.pct", Statistic: "share", Op: ">=",
			Threshold: cfg.MinPct, Unit: "%"}
		if n == 0 {
			v.Message = "no valid runs to judge"
		} else {
			v.Observed = 100 * float64(good) / float64(n)
			v.Pass = v.Observed >= cfg.MinPct
			v.Message = fmt.Sprintf("%d of %d runs met both limits", good, n)
		}
		out = append(out, v)
	}
	if cfg.Case != "" && len(out) == 0 {
		return nil, fmt.Errorf("goodput case %q: no such case in the result", cfg.Case)
	}
	return out, nil
}

func main() {}
