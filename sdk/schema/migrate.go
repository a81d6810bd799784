package schema

import "strings"

// RenamedInV2 maps the metric IDs that V1 results used to their Version
// names.
var RenamedInV2 = map[string]string{
	"peak_rss_mb":  PeakRSS,     // it always held MiB
	"rss_after_mb": RSSAfterRun, // so did it
}

// MigrateV1 turns a result read as V1 into a Version one in place: renamed
// metric IDs are mapped wherever an ID appears (definitions, statistics,
// case and run values, verdicts and their target text), in merged inputs
// too, and Schema becomes Version.
func MigrateV1(r *Result) {
	if r == nil {
		return
	}
	r.Schema = Version
	for i := range r.Metrics {
		r.Metrics[i].ID = renamedV1(r.Metrics[i].ID)
	}
	for i := range r.Cases {
		c := &r.Cases[i]
		c.Stats = renameKeys(c.Stats)
		c.Values = renameKeys(c.Values)
		for j := range c.Runs {
			c.Runs[j].Values = renameKeys(c.Runs[j].Values)
		}
	}
	for i := range r.Targets {
		v := &r.Targets[i]
		v.Metric = renamedV1(v.Metric)
		for old, id := range RenamedInV2 {
			if rest, ok := strings.CutPrefix(v.Target, old+"."); ok {
				v.Target = id + "." + rest
			}
		}
	}
	for _, in := range r.Inputs {
		if in.Result != nil && in.Result.Schema == V1 {
			MigrateV1(in.Result)
		}
	}
}

func renamedV1(id string) string {
	if to, ok := RenamedInV2[id]; ok {
		return to
	}
	return id
}

func renameKeys[V any](m map[string]V) map[string]V {
	for old, id := range RenamedInV2 {
		if v, ok := m[old]; ok {
			delete(m, old)
			m[id] = v
		}
	}
	return m
}
