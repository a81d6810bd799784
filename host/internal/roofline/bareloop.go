package roofline

import (
	"fmt"
	"slices"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/model"
)

// BareModel is what the bare loop needs to drive an optimum-layout decoder.
type BareModel struct {
	Path        string
	Layers      int
	KVHeads     int
	HeadDim     int
	Vocab       int
	PositionIDs bool // the graph takes position_ids
	// SharedKV binds one buffer per key and value as both the past input
	// and the present output (a GroupQueryAttention graph with GenAI's
	// past_present_share_buffer): the cache is appended in place.
	SharedKV bool
	// LastLogits: the graph's logits hold the last position only.
	LastLogits bool
}

// BareOptions configures the bare loop's session.
type BareOptions struct {
	IntraOpThreads int  // 0: the runtime's default
	Spinning       bool // session.intra_op.allow_spinning
}

// BareResult is one bare-loop generation.
type BareResult struct {
	TTFT      time.Duration // prefill Run + argmax
	E2E       time.Duration // until the last token's argmax
	DecodeTPS float64       // (n−1) / (E2E − TTFT)
	Tokens    []int64
}

// BareLoop is the least code that decodes with an ONNX Runtime session from
// Go: one session, buffers allocated once for the longest sequence, present
// written into the other of two arrays per layer and fed back as past (or,
// with SharedKV, one array per layer bound as both), argmax of the last
// position. It exists as the yardstick pipe's generator must
// match; the runtime must already be initialised (ortgen.Init).
type BareLoop struct {
	m        BareModel
	sess     *ort.DynamicAdvancedSession
	borrowed bool // sess belongs to someone else: Close leaves it
}

// NewBareLoop opens a session for m.
func NewBareLoop(m BareModel, o BareOptions) (*BareLoop, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	spin := "0"
	if o.Spinning {
		spin = "1"
	}
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", spin); err != nil {
		return nil, err
	}
	if err := so.AddSessionConfigEntry("session.inter_op.allow_spinning", spin); err != nil {
		return nil, err
	}
	if o.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(o.IntraOpThreads); err != nil {
			return nil, err
		}
	}
	in, out := m.names()
	sess, err := ort.NewDynamicAdvancedSession(m.Path, in, out, so)
	if err != nil {
		return nil, fmt.Errorf("bare loop: open %s: %w", m.Path, err)
	}
	return &BareLoop{m: m, sess: sess}, nil
}

// names are the inputs and outputs Generate feeds and reads, in order.
func (m BareModel) names() (in, out []string) {
	in = []string{"input_ids", "attention_mask"}
	if m.PositionIDs {
		in = append(in, "position_ids")
	}
	out = []string{"logits"}
	for i := range m.Layers {
		in = append(in, fmt.Sprintf("past_key_values.%d.key", i), fmt.Sprintf("past_key_values.%d.value", i))
		out = append(out, fmt.Sprintf("present.%d.key", i), fmt.Sprintf("present.%d.value", i))
	}
	return in, out
}

// BareLoopOn drives an existing session (pipe's generator's, so that the
// two are compared on the same weights in the same memory) if it was
// created with exactly the names the bare loop feeds, in its order; ok is
// false otherwise. Close leaves the session to its owner.
func BareLoopOn(m BareModel, sess *ort.DynamicAdvancedSession, in, out []string) (l *BareLoop, ok bool) {
	wantIn, wantOut := m.names()
	if sess == nil || !slices.Equal(in, wantIn) || !slices.Equal(out, wantOut) {
		return nil, false
	}
	return &BareLoop{m: m, sess: sess, borrowed: true}, true
}

// Bare-loop sessions, as the figures record them.
const (
	BareOnGeneratorsSession = "the generator's session"
	BareOnItsOwnSession     = "its own session"
)

// openBare is the bare loop for m beside pipe's generator g: on g's own
// session when the names allow (BareLoopOn), else on a session of its own
// (o). It says which.
func openBare(m *model.Model, g *ortgen.Generator, o BareOptions) (*BareLoop, string, error) {
	bm := bareModelOf(m)
	sess, in, out := g.Session()
	if l, ok := BareLoopOn(bm, sess, in, out); ok {
		return l, BareOnGeneratorsSession, nil
	}
	l, err := NewBareLoop(bm, o)
	return l, BareOnItsOwnSession, err
}

// Close releases the session, unless it was borrowed.
func (l *BareLoop) Close() error {
	if l.borrowed {
		return nil
	}
	return l.sess.Destroy()
}

// Generate decodes n tokens greedily after prompt (batch 1).
func (l *BareLoop) Generate(prompt []int64, n int) (BareResult, error) {
	m := l.m
	p := len(prompt)
	maxLen := p + n
	kvLen := m.KVHeads * maxLen * m.HeadDim
	var kv [2][][]float32
	for s := range kv {
		kv[s] = make([][]float32, 2*m.Layers)
		for i := range kv[s] {
			kv[s][i] = make([]float32, kvLen)
		}
	}
	rows := p // logits positions of the prefill
	if m.LastLogits {
		rows = 1
	}
	logits := make([]float32, rows*m.Vocab)
	ids := append([]int64(nil), prompt...)
	pos := make([]int64, p)
	for i := range pos {
		pos[i] = int64(i)
	}
	mask := make([]int64, maxLen)
	for i := range mask {
		mask[i] = 1
	}
	res := BareResult{Tokens: make([]int64, 0, n)}
	start := time.Now()
	past, seq, cur := 0, p, 0
	for step := range n {
		var vals []ort.Value
		var mkErr error
		mk := func(v ort.Value, err error) ort.Value {
			if err != nil {
				mkErr = err
				return nil
			}
			vals = append(vals, v)
			return v
		}
		inputs := []ort.Value{
			mk(ort.NewTensor(ort.NewShape(1, int64(seq)), ids[:seq])),
			mk(ort.NewTensor(ort.NewShape(1, int64(past+seq)), mask)),
		}
		if m.PositionIDs {
			inputs = append(inputs, mk(ort.NewTensor(ort.NewShape(1, int64(seq)), pos[:seq])))
		}
		lseq := seq
		if m.LastLogits {
			lseq = 1
		}
		outputs := []ort.Value{mk(ort.NewTensor(ort.NewShape(1, int64(lseq), int64(m.Vocab)), logits))}
		for i := range 2 * m.Layers {
			if m.SharedKV {
				t := mk(ort.NewTensor(ort.NewShape(1, int64(m.KVHeads), int64(maxLen), int64(m.HeadDim)), kv[0][i]))
				inputs, outputs = append(inputs, t), append(outputs, t)
				continue
			}
			inputs = append(inputs, mk(ort.NewTensor(ort.NewShape(1, int64(m.KVHeads), int64(past), int64(m.HeadDim)), kv[cur][i])))
			outputs = append(outputs, mk(ort.NewTensor(ort.NewShape(1, int64(m.KVHeads), int64(past+seq), int64(m.HeadDim)), kv[1-cur][i])))
		}
		err := mkErr
		if err == nil {
			err = l.sess.Run(inputs, outputs)
		}
		for _, v := range vals {
			v.Destroy()
		}
		if err != nil {
			return res, fmt.Errorf("bare loop: step %d: %w", step, err)
		}
		last := logits[(lseq-1)*m.Vocab : lseq*m.Vocab]
		best := 0
		for i, x := range last {
			if x > last[best] {
				best = i
			}
		}
		res.Tokens = append(res.Tokens, int64(best))
		if step == 0 {
			res.TTFT = time.Since(start)
		}
		ids[0], pos[0] = int64(best), int64(past+seq)
		past, seq, cur = past+seq, 1, 1-cur
	}
	res.E2E = time.Since(start)
	if n > 1 && res.E2E > res.TTFT {
		res.DecodeTPS = float64(n-1) / (res.E2E - res.TTFT).Seconds()
	}
	return res, nil
}
