package abi

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"unsafe"

	"github.com/pipe-bench/pipe/sdk/schema"
)

// A frame is how bulk numbers cross the boundary: a 4-byte magic, a u32
// little-endian header length, a JSON header, then a body of little-endian
// u32 and f64 values whose layout the header describes.
const (
	BatchMagic        = "PPB1" // the input of pipe_metric
	MetricOutputMagic = "PPM1" // the output of pipe_metric
)

// maxHeader bounds a frame's JSON header; headers hold names, not data.
const maxHeader = 16 << 20

// Run is one measured run as a metric plugin sees it. Only the values and
// arrays the plugin asked for are filled; the rest stay empty.
type Run struct {
	Case         string             `json:"case"`   // case ID, e.g. "p128-n64-b1"
	Params       schema.CaseParams  `json:"params"` // the case's knobs
	Index        int                `json:"index"`  // run index within the case
	PromptTokens int                `json:"prompt_tokens"`
	OutputTokens int                `json:"output_tokens"`
	Values       map[string]float64 `json:"values,omitempty"`   // built-in values by metric ID
	TokenMS      []float64          `json:"token_ms,omitempty"` // each token's time since request start
	ITLms        []float64          `json:"itl_ms,omitempty"`   // gaps between consecutive tokens
}

// batchHeader is the JSON header of a batch frame.
type batchHeader struct {
	Cases  []batchCase `json:"cases"`
	Values []string    `json:"values"`
	Arrays []string    `json:"arrays"`
	Runs   int         `json:"runs"`
}

type batchCase struct {
	ID     string            `json:"id"`
	Params schema.CaseParams `json:"params"`
}

// Projection says which parts of a run a batch carries.
type Projection struct {
	Values  []string // built-in metric IDs
	TokenMS bool
	ITL     bool
}

// ProjectionOf derives the projection from a manifest's inputs.
func ProjectionOf(m *Manifest) Projection {
	var p Projection
	for _, in := range m.Inputs {
		switch in {
		case InputTokenMS:
			p.TokenMS = true
		case InputITL:
			p.ITL = true
		default:
			p.Values = append(p.Values, in)
		}
	}
	return p
}

// EncodeBatch encodes runs as a batch frame carrying only what p names.
// Layout after the header, per run: u32 case index, u32 run index, u32
// prompt tokens, u32 output tokens, one f64 per header value (NaN: absent),
// then per header array a u32 count and that many f64.
func EncodeBatch(runs []Run, p Projection) []byte {
	h := batchHeader{Values: p.Values, Arrays: []string{}, Runs: len(runs)}
	if h.Values == nil {
		h.Values = []string{}
	}
	if p.TokenMS {
		h.Arrays = append(h.Arrays, InputTokenMS)
	}
	if p.ITL {
		h.Arrays = append(h.Arrays, InputITL)
	}
	caseIndex := map[string]int{}
	size := 0
	for _, r := range runs {
		if _, ok := caseIndex[r.Case]; !ok {
			caseIndex[r.Case] = len(h.Cases)
			h.Cases = append(h.Cases, batchCase{ID: r.Case, Params: r.Params})
		}
		size += 16 + 8*len(h.Values) + 4*len(h.Arrays)
		if p.TokenMS {
			size += 8 * len(r.TokenMS)
		}
		if p.ITL {
			size += 8 * len(r.ITLms)
		}
	}
	if h.Cases == nil {
		h.Cases = []batchCase{}
	}
	buf := startFrame(BatchMagic, h, size)
	for _, r := range runs {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(caseIndex[r.Case]))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(r.Index))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(r.PromptTokens))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(r.OutputTokens))
		for _, name := range h.Values {
			v, ok := r.Values[name]
			if !ok {
				v = math.NaN()
			}
			buf = appendF64(buf, v)
		}
		if p.TokenMS {
			buf = appendF64s(buf, r.TokenMS)
		}
		if p.ITL {
			buf = appendF64s(buf, r.ITLms)
		}
	}
	return buf
}

// DecodeBatch decodes a batch frame. It never trusts a count it has not
// checked against the bytes that remain.
func DecodeBatch(b []byte) ([]Run, error) {
	var h batchHeader
	body, err := openFrame(b, BatchMagic, &h)
	if err != nil {
		return nil, err
	}
	for _, a := range h.Arrays {
		if a != InputTokenMS && a != InputITL {
			return nil, fmt.Errorf("batch: unknown array %q", a)
		}
	}
	fixed := 16 + 8*len(h.Values) + 4*len(h.Arrays)
	if h.Runs < 0 || (h.Runs > 0 && len(body)/fixed < h.Runs) {
		return nil, fmt.Errorf("batch: header claims %d runs, body holds %d bytes", h.Runs, len(body))
	}
	r := reader{b: body}
	runs := make([]Run, h.Runs)
	for i := range runs {
		ci := int(r.u32())
		if r.err == nil && ci >= len(h.Cases) {
			return nil, fmt.Errorf("batch: run %d: case index %d out of range (%d cases)", i, ci, len(h.Cases))
		}
		run := &runs[i]
		run.Index = int(r.u32())
		run.PromptTokens = int(r.u32())
		run.OutputTokens = int(r.u32())
		if r.err != nil {
			break
		}
		run.Case, run.Params = h.Cases[ci].ID, h.Cases[ci].Params
		for _, name := range h.Values {
			if v := r.f64(); !math.IsNaN(v) {
				if run.Values == nil {
					run.Values = make(map[string]float64, len(h.Values))
				}
				run.Values[name] = v
			}
		}
		for _, a := range h.Arrays {
			xs := r.f64s()
			if a == InputTokenMS {
				run.TokenMS = xs
			} else {
				run.ITLms = xs
			}
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("batch: %w", r.err)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("batch: %d bytes left over after %d runs", len(r.b), h.Runs)
	}
	return runs, nil
}

// MetricOutput is what a metric plugin returns for one batch: values per
// run, in batch order, and corpus values computed over the whole batch.
type MetricOutput struct {
	PerRun []map[string]float64
	Corpus map[string]float64
}

type metricHeader struct {
	Metrics []string           `json:"metrics"`
	Runs    int                `json:"runs"`
	Corpus  map[string]float64 `json:"corpus,omitempty"`
}

// EncodeMetricOutput encodes out as a metric output frame: the header names
// the metrics (sorted) and the run count; the body holds runs × metrics f64
// values, run-major, NaN where a run has no value. Non-finite values mean
// "no value": per-run ones become NaN, corpus ones are dropped.
func EncodeMetricOutput(out MetricOutput) []byte {
	set := map[string]bool{}
	for _, vs := range out.PerRun {
		for k := range vs {
			set[k] = true
		}
	}
	h := metricHeader{Metrics: make([]string, 0, len(set)), Runs: len(out.PerRun)}
	for k := range set {
		h.Metrics = append(h.Metrics, k)
	}
	sort.Strings(h.Metrics)
	for k, v := range out.Corpus {
		if Finite(v) {
			if h.Corpus == nil {
				h.Corpus = map[string]float64{}
			}
			h.Corpus[k] = v
		}
	}
	buf := startFrame(MetricOutputMagic, h, 8*len(h.Metrics)*len(out.PerRun))
	for _, vs := range out.PerRun {
		for _, k := range h.Metrics {
			v, ok := vs[k]
			if !ok || !Finite(v) {
				v = math.NaN()
			}
			buf = appendF64(buf, v)
		}
	}
	return buf
}

// DecodeMetricOutput decodes a metric output frame. NaN means "no value";
// ±Inf is refused.
func DecodeMetricOutput(b []byte) (MetricOutput, error) {
	var h metricHeader
	body, err := openFrame(b, MetricOutputMagic, &h)
	if err != nil {
		return MetricOutput{}, err
	}
	if h.Runs < 0 {
		return MetricOutput{}, fmt.Errorf("metric output: negative run count %d", h.Runs)
	}
	if slices.Contains(h.Metrics, "") {
		return MetricOutput{}, errors.New("metric output: empty metric name")
	}
	for k, v := range h.Corpus {
		if !Finite(v) {
			return MetricOutput{}, fmt.Errorf("metric output: corpus value %s is not finite", k)
		}
	}
	if want := uint64(h.Runs) * uint64(len(h.Metrics)) * 8; uint64(len(body)) != want {
		return MetricOutput{}, fmt.Errorf("metric output: %d runs × %d metrics need %d bytes, got %d", h.Runs, len(h.Metrics), want, len(body))
	}
	out := MetricOutput{PerRun: make([]map[string]float64, h.Runs), Corpus: h.Corpus}
	r := reader{b: body}
	for i := range out.PerRun {
		vs := make(map[string]float64, len(h.Metrics))
		for _, k := range h.Metrics {
			v := r.f64()
			if math.IsInf(v, 0) {
				return MetricOutput{}, fmt.Errorf("metric output: run %d: %s is infinite", i, k)
			}
			if !math.IsNaN(v) {
				vs[k] = v
			}
		}
		out.PerRun[i] = vs
	}
	return out, nil
}

// TargetOutput is what pipe_target returns (JSON).
type TargetOutput struct {
	Verdicts []schema.Verdict `json:"verdicts"`
}

func startFrame(magic string, header any, bodySize int) []byte {
	hj, err := json.Marshal(header)
	if err != nil {
		panic(fmt.Sprintf("abi: encode frame header: %v", err)) // only plain types reach here
	}
	buf := make([]byte, 0, 8+len(hj)+bodySize)
	buf = append(buf, magic...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(hj)))
	return append(buf, hj...)
}

func openFrame(b []byte, magic string, header any) ([]byte, error) {
	what := "batch"
	if magic == MetricOutputMagic {
		what = "metric output"
	}
	if len(b) < 8 || string(b[:4]) != magic {
		return nil, fmt.Errorf("%s: not a %s frame (want magic %q)", what, what, magic)
	}
	n := binary.LittleEndian.Uint32(b[4:8])
	if n > maxHeader || uint64(n) > uint64(len(b)-8) {
		return nil, fmt.Errorf("%s: header length %d exceeds the %d bytes that follow", what, n, len(b)-8)
	}
	if err := json.Unmarshal(b[8:8+n], header); err != nil {
		return nil, fmt.Errorf("%s: header: %w", what, err)
	}
	return b[8+n:], nil
}

func appendF64(buf []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
}

func appendF64s(buf []byte, xs []float64) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(xs)))
	if littleEndian && len(xs) > 0 {
		return append(buf, unsafe.Slice((*byte)(unsafe.Pointer(&xs[0])), 8*len(xs))...)
	}
	for _, v := range xs {
		buf = appendF64(buf, v)
	}
	return buf
}

// littleEndian reports whether float64s sit in memory in the wire's byte
// order (wasm, amd64, arm64: yes), so arrays can be copied whole.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// reader reads little-endian values; the first short read sets err and
// every later read returns zero.
type reader struct {
	b   []byte
	err error
}

func (r *reader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if len(r.b) < n {
		r.err = fmt.Errorf("truncated: need %d bytes, %d left", n, len(r.b))
		return false
	}
	return true
}

func (r *reader) u32() uint32 {
	if !r.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) f64() float64 {
	if !r.need(8) {
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *reader) f64s() []float64 {
	n := r.u32()
	if r.err != nil || n == 0 {
		return nil
	}
	if uint64(n)*8 > uint64(len(r.b)) {
		r.err = fmt.Errorf("truncated: array of %d values, %d bytes left", n, len(r.b))
		return nil
	}
	xs := make([]float64, n)
	if littleEndian {
		// One memmove instead of n decodes: inside wasm, with termination
		// checks on, this is what keeps 1,000 × 256 timestamps cheap.
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&xs[0])), 8*int(n)), r.b)
	} else {
		for i := range xs {
			xs[i] = math.Float64frombits(binary.LittleEndian.Uint64(r.b[8*i:]))
		}
	}
	r.b = r.b[8*n:]
	return xs
}

// RunOf builds the Run a metric plugin sees from a result's case and one
// of its runs (before projection).
func RunOf(c *schema.Case, r *schema.Run) Run {
	return Run{
		Case:         c.ID,
		Params:       c.Params,
		Index:        r.Index,
		PromptTokens: c.Params.PromptTokens,
		OutputTokens: len(r.TokenMS),
		Values:       r.Values,
		TokenMS:      r.TokenMS,
		ITLms:        r.ITLms,
	}
}

// EncodeResult marshals r as a target or report plugin sees it: the runs'
// per-token arrays stay only when the projection asks for them.
func EncodeResult(r *schema.Result, p Projection) ([]byte, error) {
	view := *r
	if !p.TokenMS || !p.ITL {
		view.Cases = make([]schema.Case, len(r.Cases))
		for i, c := range r.Cases {
			c.Runs = slices.Clone(c.Runs)
			for j := range c.Runs {
				if !p.TokenMS {
					c.Runs[j].TokenMS = nil
				}
				if !p.ITL {
					c.Runs[j].ITLms = nil
				}
			}
			view.Cases[i] = c
		}
	}
	return json.Marshal(&view)
}
