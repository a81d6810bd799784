package schema

import "testing"

// TestMigrateV1RenamesEveryID: each ID RenamedInV2 maps is renamed in the
// definitions, statistics, case and run values and verdicts of a v1
// result, and none of the old IDs is left.
func TestMigrateV1RenamesEveryID(t *testing.T) {
	for old, id := range RenamedInV2 {
		r := &Result{
			Schema:  V1,
			Metrics: []MetricDef{{ID: old}},
			Cases: []Case{{
				Stats:  map[string]Summary{old: {N: 1}},
				Values: map[string]float64{old: 1},
				Runs:   []Run{{Values: map[string]float64{old: 2}}},
			}},
			Targets: []Verdict{{Target: old + ".cv < 5%", Metric: old}},
		}
		MigrateV1(r)
		c := r.Cases[0]
		_, inStats := c.Stats[id]
		_, inValues := c.Values[id]
		_, inRun := c.Runs[0].Values[id]
		if r.Schema != Version || r.Metrics[0].ID != id || !inStats || !inValues || !inRun ||
			r.Targets[0].Metric != id || r.Targets[0].Target != id+".cv < 5%" {
			t.Errorf("%s → %s: migrated to %+v", old, id, r)
		}
		if _, ok := c.Stats[old]; ok {
			t.Errorf("%s still in the statistics", old)
		}
	}
	if RenamedInV2["rss_after_mb"] != RSSAfterRun || RSSAfterRun != "rss_after_mib" {
		t.Errorf("rss_after_mb is renamed to %q, want rss_after_mib", RenamedInV2["rss_after_mb"])
	}
}
