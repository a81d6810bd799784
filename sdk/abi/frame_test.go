package abi

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pipe-bench/pipe/sdk/schema"
)

func sampleRuns() []Run {
	return []Run{
		{Case: "p16-n4-b1", Params: schema.CaseParams{PromptTokens: 16, NewTokens: 4, Batch: 1}, Index: 0, PromptTokens: 16, OutputTokens: 4,
			Values: map[string]float64{"ttft_ms": 12.5, "e2e_ms": 40}, TokenMS: []float64{12.5, 20, 30, 40}, ITLms: []float64{7.5, 10, 10}},
		{Case: "p16-n4-b1", Params: schema.CaseParams{PromptTokens: 16, NewTokens: 4, Batch: 1}, Index: 1, PromptTokens: 16, OutputTokens: 4,
			Values: map[string]float64{"ttft_ms": 13}, TokenMS: []float64{13, 21, 31, 41}, ITLms: []float64{8, 10, 10}},
		{Case: "p64-n4-b1", Params: schema.CaseParams{PromptTokens: 64, NewTokens: 4, Batch: 1}, Index: 0, PromptTokens: 64, OutputTokens: 0},
	}
}

func TestBatchRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		proj Projection
		want func(r Run) Run
	}{
		{"everything", Projection{Values: []string{"ttft_ms", "e2e_ms"}, TokenMS: true, ITL: true}, func(r Run) Run { return r }},
		{"only ITLs", Projection{ITL: true}, func(r Run) Run { r.Values, r.TokenMS = nil, nil; return r }},
		{"one value", Projection{Values: []string{"e2e_ms"}}, func(r Run) Run {
			r.TokenMS, r.ITLms = nil, nil
			if v, ok := r.Values["e2e_ms"]; ok {
				r.Values = map[string]float64{"e2e_ms": v}
			} else {
				r.Values = nil
			}
			return r
		}},
		{"nothing", Projection{}, func(r Run) Run { r.Values, r.TokenMS, r.ITLms = nil, nil, nil; return r }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := sampleRuns()
			got, err := DecodeBatch(EncodeBatch(runs, tt.proj))
			if err != nil {
				t.Fatal(err)
			}
			var want []Run
			for _, r := range runs {
				want = append(want, tt.want(r))
			}
			if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

func TestDecodeBatchRefuses(t *testing.T) {
	good := EncodeBatch(sampleRuns(), Projection{Values: []string{"ttft_ms"}, TokenMS: true, ITL: true})
	hdrLen := int(binary.LittleEndian.Uint32(good[4:]))
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "not a batch frame"},
		{"wrong magic", append([]byte("PPM1"), good[4:]...), "not a batch frame"},
		{"header longer than the frame", append(append([]byte{}, good[:4]...), 0xff, 0xff, 0xff, 0x00), "header length"},
		{"truncated body", good[:len(good)-3], "truncated"},
		{"trailing bytes", append(append([]byte{}, good...), 1, 2, 3), "left over"},
		{"run count beyond the body", bytes.Replace(good, []byte(`"runs":3`), []byte(`"runs":9`), 1), "header claims 9 runs"},
		{"unknown array", bytes.Replace(good, []byte(`"itl_ms"`), []byte(`"xyz_ms"`), 1), `unknown array "xyz_ms"`},
		{"case index out of range", func() []byte {
			b := append([]byte{}, good...)
			binary.LittleEndian.PutUint32(b[8+hdrLen:], 7)
			return b
		}(), "case index 7 out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeBatch(tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("DecodeBatch error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestMetricOutputRoundTrip(t *testing.T) {
	in := MetricOutput{
		PerRun: []map[string]float64{{"x.a": 1, "x.b": 2}, {}, {"x.a": math.NaN(), "x.b": math.Inf(1)}, {"x.b": -3.5}},
		Corpus: map[string]float64{"x.c": 9, "x.nan": math.NaN()},
	}
	got, err := DecodeMetricOutput(EncodeMetricOutput(in))
	if err != nil {
		t.Fatal(err)
	}
	want := MetricOutput{
		PerRun: []map[string]float64{{"x.a": 1, "x.b": 2}, {}, {}, {"x.b": -3.5}},
		Corpus: map[string]float64{"x.c": 9},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestDecodeMetricOutputRefuses(t *testing.T) {
	frame := func(header string, body ...float64) []byte {
		b := []byte(MetricOutputMagic)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(header)))
		b = append(b, header...)
		for _, v := range body {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"not a frame", []byte("{\"samples\":[]}"), "not a metric output frame"},
		{"header is not JSON", frame("{nope"), "header"},
		{"body too short", frame(`{"metrics":["x.a"],"runs":2}`, 1), "need 16 bytes, got 8"},
		{"infinite value", frame(`{"metrics":["x.a"],"runs":1}`, math.Inf(-1)), "is infinite"},
		{"negative runs", frame(`{"metrics":[],"runs":-1}`), "negative run count"},
		{"empty metric name", frame(`{"metrics":[""],"runs":1}`, 1), "empty metric name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMetricOutput(tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// FuzzDecodeMetricOutput: whatever a plugin writes, decoding returns
// values or an error, never a panic, and never an infinite value.
func FuzzDecodeMetricOutput(f *testing.F) {
	f.Add(EncodeMetricOutput(MetricOutput{PerRun: []map[string]float64{{"x.a": 1}}, Corpus: map[string]float64{"x.c": 2}}))
	f.Add([]byte("PPM1\x02\x00\x00\x00{}"))
	f.Add([]byte("PPM1\xff\xff\xff\xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := DecodeMetricOutput(b)
		if err != nil {
			return
		}
		for _, vs := range out.PerRun {
			for k, v := range vs {
				if !Finite(v) {
					t.Fatalf("%s = %v passed decoding", k, v)
				}
			}
		}
		again, err := DecodeMetricOutput(EncodeMetricOutput(out))
		if err != nil {
			t.Fatalf("re-encoding a decoded output fails: %v", err)
		}
		if d := cmp.Diff(out, again, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("decode∘encode is not the identity:\n%s", d)
		}
	})
}

// FuzzDecodeBatch: the SDK's side of the frame never panics.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(EncodeBatch(sampleRuns(), Projection{Values: []string{"ttft_ms"}, TokenMS: true, ITL: true}))
	f.Add(EncodeBatch(nil, Projection{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		runs, err := DecodeBatch(b)
		if err != nil {
			return
		}
		for _, r := range runs {
			if len(r.TokenMS) > len(b) || len(r.ITLms) > len(b) {
				t.Fatalf("decoded more values than bytes")
			}
		}
	})
}

func TestManifestValidate(t *testing.T) {
	ok := func() Manifest {
		return Manifest{Name: "jit", Kinds: []string{KindMetric}, Inputs: []string{InputITL, "ttft_ms"},
			Metrics: []schema.MetricDef{{ID: "jit.cv", Unit: "1", Better: "lower"}}}
	}
	tests := []struct {
		name   string
		change func(m *Manifest)
		want   string
	}{
		{"valid", func(*Manifest) {}, ""},
		{"bad name", func(m *Manifest) { m.Name = "Jit-ter" }, `manifest name "Jit-ter"`},
		{"no kinds", func(m *Manifest) { m.Kinds = nil }, "no kinds"},
		{"unknown kind", func(m *Manifest) { m.Kinds = []string{"exporter"} }, `unknown kind "exporter"`},
		{"metric plugin without metrics", func(m *Manifest) { m.Metrics = nil }, "must declare its metrics"},
		{"metric outside the namespace", func(m *Manifest) { m.Metrics[0].ID = "cv" }, "IDs must start with the plugin's name"},
		{"metric without unit", func(m *Manifest) { m.Metrics[0].Unit = "" }, "missing unit"},
		{"metric twice", func(m *Manifest) { m.Metrics = append(m.Metrics, m.Metrics[0]) }, "declared twice"},
		{"unknown input", func(m *Manifest) { m.Inputs = []string{"Prompt Text"} }, `input "Prompt Text"`},
		{"report without format", func(m *Manifest) { m.Kinds = []string{KindReport} }, "must declare report.format"},
		{"report file name with a path", func(m *Manifest) {
			m.Kinds = []string{KindReport}
			m.Report = &ReportFormat{Format: "x", FileName: "../x.xml", MediaType: "application/xml"}
		}, "want a plain file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok()
			tt.change(&m)
			err := m.Validate()
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

// namePattern is the grammar ValidName implements, as a regexp: the
// oracle it is checked against (the SDK itself avoids package regexp).
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// FuzzManifest: a manifest from pipe_describe either validates or is
// refused with an error; never a panic.
func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"name":"jitter","kinds":["metric"],"metrics":[{"id":"jitter.cv","unit":"1","better":"lower"}],"inputs":["itl_ms"]}`))
	f.Add([]byte(`{"name":"junit","kinds":["report"],"report":{"format":"junit","file_name":"junit.xml","media_type":"application/xml"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Manifest
		if json.Unmarshal(b, &m) != nil {
			return
		}
		if err := m.Validate(); err == nil && (len(m.Kinds) == 0 || !namePattern.MatchString(m.Name)) {
			t.Fatalf("invalid manifest passed: %+v", m)
		}
	})
}
