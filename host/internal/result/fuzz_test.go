package result

import (
	"strings"
	"testing"
)

// FuzzReadResult: reading any bytes as a result never panics and fails
// with one line; whatever reads encodes again.
func FuzzReadResult(f *testing.F) {
	data, err := Encode(sample("phase2", "2026-01-01T00:00:00Z"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte(`{"schema":"pipe.result/v1","cases":[{"stats":{"x":{"mean":null}},"runs":[{"values":{"a":1e308}}]}]}`))
	f.Add([]byte(`{"schema":"pipe.result/v2"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode("fuzz", data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			return
		}
		if _, err := Encode(r); err != nil {
			t.Errorf("a result that reads does not encode: %v", err)
		}
		r.MetricIDs()
		for _, c := range r.Cases {
			c.RunValues("ttft_ms")
		}
	})
}
