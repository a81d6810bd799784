package plugin_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/plugin"
)

func TestDecodeTargetOutput(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"two verdicts", `{"verdicts":[{"target":"a","metric":"x.y","pass":true},{"target":"b","metric":"x.z","observed":3}]}`, 2, ""},
		{"no verdicts is fine", `{"verdicts":[]}`, 0, ""},
		{"unknown fields are ignored", `{"verdicts":[],"extra":1}`, 0, ""},
		// :-( sad paths
		{"not JSON", `verdicts: none`, 0, "verdicts are not JSON"},
		{"missing list", `{}`, 0, `no "verdicts" list`},
		{"verdict without metric", `{"verdicts":[{"target":"a"}]}`, 0, "verdict 0: target and metric must be set"},
		{"wrong type", `{"verdicts":[{"target":"a","metric":"m","pass":"yes"}]}`, 0, "verdicts are not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs, err := plugin.DecodeTargetOutput([]byte(tt.in))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error = %v, want one containing %q", err, tt.want)
				}
				return
			}
			if err != nil || len(vs) != tt.n {
				t.Fatalf("got %d verdicts, %v; want %d", len(vs), err, tt.n)
			}
		})
	}
}

// FuzzDecodeTargetOutput: whatever a target plugin writes, the host gets
// verdicts that name a target and a metric, or an error; never a panic.
func FuzzDecodeTargetOutput(f *testing.F) {
	f.Add([]byte(`{"verdicts":[{"target":"a","metric":"x.y","pass":true,"observed":1.5}]}`))
	f.Add([]byte(`{"verdicts":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		vs, err := plugin.DecodeTargetOutput(b)
		if err != nil {
			return
		}
		for _, v := range vs {
			if v.Target == "" || v.Metric == "" {
				t.Fatalf("verdict without target or metric passed: %+v", v)
			}
			if _, err := json.Marshal(v); err != nil {
				t.Fatalf("a decoded verdict does not re-encode: %v", err)
			}
		}
	})
}
