package schema

import "testing"

func TestPrecisionSummary(t *testing.T) {
	for _, tc := range []struct {
		m    Model
		want string
	}{
		{Model{}, ""},
		{Model{WeightPrecision: "int4", KVCacheType: "float16", LogitsType: "float32", KVShareBuffer: true}, "weights int4, KV cache float16, logits float32, shared past/present cache"},
		{Model{WeightPrecision: "fp32", KVCacheType: "float32", LogitsType: "float32"}, "weights fp32, KV cache float32, logits float32"},
	} {
		if got := tc.m.PrecisionSummary(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.m, got, tc.want)
		}
	}
}
