package schema

import (
	"regexp"
	"testing"
)

// metricIDPattern is the grammar ValidateMetricID implements, as a regexp:
// the oracle the hand-written check is held to.
var metricIDPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

func TestValidateMetricIDMatchesGrammar(t *testing.T) {
	for _, id := range []string{"ttft_ms", "jitter.itl_cv", "a", "a.b.c", "throughput.peak_rss_mib", "x9_",
		"", ".", "a.", ".a", "a..b", "9a", "_a", "A", "a.B", "a-b", "a.9", "é", "a b", "ttft_ms.p99.9"} {
		want := metricIDPattern.MatchString(id)
		if got := ValidateMetricID(id) == nil; got != want {
			t.Errorf("ValidateMetricID(%q) accepts = %v, the grammar says %v", id, got, want)
		}
	}
}

func FuzzValidateMetricID(f *testing.F) {
	f.Add("jitter.itl_cv")
	f.Add("a..b")
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := ValidateMetricID(id) == nil, metricIDPattern.MatchString(id); got != want {
			t.Fatalf("ValidateMetricID(%q) accepts = %v, the grammar says %v", id, got, want)
		}
	})
}
