package ortgen

import (
	"context"
	"errors"
	"fmt"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/pipe-bench/pipe/host/internal/gen"
)

// buffers are the Go arrays the runtime reads and writes, kept across steps
// and requests and grown only when a request needs more.
type buffers struct {
	kv       [2][][]float32 // [parity][2*layer + 0 key | 1 value]: past in one parity, present into the other
	logits   []float32
	ids      []int64
	mask     []int64
	pos      []int64
	useCache []bool
	inputs   []ort.Value
	outputs  []ort.Value
	live     []ort.Value // tensors created for the current step, destroyed after it
	viewErr  error
}

// acquire returns the buffers for one request and the function that gives
// them back. A request alone uses g.buf; requests that overlap it (streams
// sharing the session) take spare sets, kept for the next overlap. The
// device-cache path holds one cache, so its requests take turns on g.buf.
func (g *Generator) acquire() (*buffers, func()) {
	if g.dev != nil {
		g.bufMu.Lock()
		return &g.buf, g.bufMu.Unlock
	}
	if g.bufMu.TryLock() {
		return &g.buf, g.bufMu.Unlock
	}
	g.spareMu.Lock()
	var b *buffers
	if n := len(g.spares); n > 0 {
		b, g.spares = g.spares[n-1], g.spares[:n-1]
	} else {
		b = new(buffers)
	}
	g.spareMu.Unlock()
	return b, func() {
		g.spareMu.Lock()
		g.spares = append(g.spares, b)
		g.spareMu.Unlock()
	}
}

// ensure grows b for batch rows of up to kvLen cached positions and a
// prefill of promptLen positions.
func (g *Generator) ensure(b *buffers, batch, promptLen, kvLen int) {
	l := g.lay
	kvNeed := batch * l.kvHeads * kvLen * l.headDim
	if g.dev != nil {
		kvNeed = 0 // the cache lives on the device
	}
	for p := range b.kv {
		if len(b.kv[p]) != 2*l.layers {
			b.kv[p] = make([][]float32, 2*l.layers)
		}
		for i := range b.kv[p] {
			if len(b.kv[p][i]) < kvNeed {
				b.kv[p][i] = make([]float32, kvNeed)
			}
		}
	}
	if n := batch * promptLen * l.vocab; len(b.logits) < n {
		b.logits = make([]float32, n)
	}
	if n := batch * promptLen; len(b.ids) < n {
		b.ids = make([]int64, n)
		b.pos = make([]int64, n)
	}
	if n := batch * kvLen; len(b.mask) < n {
		b.mask = make([]int64, n)
	}
	if b.useCache == nil {
		b.useCache = make([]bool, 1)
	}
	nIn, nOut := len(g.inNames), 1+2*l.layers
	if cap(b.inputs) < nIn {
		b.inputs = make([]ort.Value, 0, nIn)
		b.outputs = make([]ort.Value, 0, nOut)
		b.live = make([]ort.Value, 0, nIn+nOut)
	}
}

// view appends to list a runtime tensor over data[:shape's size] that lives
// until the step ends; the first failure is kept in viewErr.
func view[T ort.TensorData](b *buffers, list *[]ort.Value, data []T, shape ...int64) {
	t, err := ort.NewTensor(ort.Shape(shape), data)
	if err != nil {
		if b.viewErr == nil {
			b.viewErr = fmt.Errorf("tensor %v: %s", shape, oneLine(err))
		}
		*list = append(*list, nil)
		return
	}
	b.live = append(b.live, t)
	*list = append(*list, t)
}

func (b *buffers) release() {
	for _, v := range b.live {
		v.Destroy()
	}
	b.live = b.live[:0]
	b.viewErr = nil
}

// step runs the model once: seq new positions per row on top of past cached
// ones, reading the cache from parity and writing the present into the
// other one. The caller has filled ids, pos (batch×seq) and mask
// (batch×(past+seq)).
func (g *Generator) step(b *buffers, batch, seq, past, parity int) (runNS int64, err error) {
	if g.dev != nil {
		return g.deviceStep(batch, seq, past) // b is g.buf on this path
	}
	defer b.release()
	l := g.lay
	b.inputs, b.outputs = b.inputs[:0], b.outputs[:0]
	B, S, T := int64(batch), int64(seq), int64(past+seq)
	view(b, &b.inputs, b.ids, B, S)
	view(b, &b.inputs, b.mask, B, T)
	if l.hasPositionIDs {
		view(b, &b.inputs, b.pos, B, S)
	}
	H, D := int64(l.kvHeads), int64(l.headDim)
	for i := range 2 * l.layers {
		view(b, &b.inputs, b.kv[parity][i], B, H, int64(past), D)
	}
	if l.merged {
		b.useCache[0] = past > 0
		view(b, &b.inputs, b.useCache, 1)
	}
	view(b, &b.outputs, b.logits, B, S, int64(l.vocab))
	for i := range 2 * l.layers {
		view(b, &b.outputs, b.kv[1-parity][i], B, H, T, D)
	}
	if b.viewErr != nil {
		return 0, b.viewErr
	}
	t0 := time.Now()
	err = g.sess.Run(b.inputs, b.outputs)
	runNS = time.Since(t0).Nanoseconds()
	if err != nil {
		return runNS, fmt.Errorf("run %s (batch %d, %d new + %d cached positions): %s", g.lay.name, batch, seq, past, oneLine(err))
	}
	return runNS, nil
}

// Check reports why req cannot run on this model, or nil.
func (g *Generator) Check(req gen.Request) error {
	if len(req.Prompts) == 0 {
		return errors.New("request has no prompt rows: give at least one prompt")
	}
	if req.NewTokens < 1 {
		return fmt.Errorf("new tokens %d < 1: ask for at least one token", req.NewTokens)
	}
	longest := 0
	for r, row := range req.Prompts {
		if len(row) == 0 {
			return fmt.Errorf("prompt row %d is empty: every row needs at least one token", r)
		}
		for _, id := range row {
			if id < 0 || id >= int64(g.lay.vocab) {
				return fmt.Errorf("prompt row %d holds token id %d outside the model's vocabulary [0, %d)", r, id, g.lay.vocab)
			}
		}
		longest = max(longest, len(row))
	}
	if mp := g.lay.maxPositions; mp > 0 && longest+req.NewTokens > mp {
		return fmt.Errorf("prompt of %d tokens + %d new tokens = %d exceeds the model's %d positions: shorten the prompt or ask for fewer tokens", longest, req.NewTokens, longest+req.NewTokens, mp)
	}
	if s := req.Sampling; s.TopK < 0 || s.TopP < 0 || s.TopP > 1 || s.Temperature < 0 {
		return fmt.Errorf("sampling temperature %g, top_k %d, top_p %g: need temperature ≥ 0, top_k ≥ 0, 0 ≤ top_p ≤ 1", s.Temperature, s.TopK, s.TopP)
	}
	return nil
}

// Generate runs one request: a prefill of every row (left-padded to the
// longest, padding masked out and skipped by position ids), then one decode
// step per further token. Exactly NewTokens tokens per row unless
// StopAtEOS; TokenNS holds one timestamp per step (each step yields one
// token for every row), RunNS the time inside each Run call.
func (g *Generator) Generate(ctx context.Context, req gen.Request) (*gen.Trace, error) {
	start := req.Start
	if start.IsZero() {
		start = time.Now()
	}
	g.life.RLock()
	defer g.life.RUnlock()
	if g.sess == nil && g.dev == nil {
		return nil, errors.New("generator is closed")
	}
	if err := g.Check(req); err != nil {
		return nil, err
	}
	b, done := g.acquire()
	defer done()
	return g.generate(ctx, req, start, b)
}

// generate runs req with the buffers b.
func (g *Generator) generate(ctx context.Context, req gen.Request, start time.Time, b *buffers) (*gen.Trace, error) {
	batch, n := len(req.Prompts), req.NewTokens
	promptLen := 0
	tr := &gen.Trace{
		StartUnixNano: start.UnixNano(),
		TokenizeNS:    req.TokenizeNS,
		PromptTokens:  make([]int, batch),
		TokenNS:       make([]int64, 0, n),
		OutputIDs:     make([][]int64, batch),
		RunNS:         make([]int64, 0, n),
	}
	for r, row := range req.Prompts {
		tr.PromptTokens[r] = len(row)
		promptLen = max(promptLen, len(row))
		tr.OutputIDs[r] = make([]int64, 0, n)
	}
	// The n-th token needs no Run after it: the cache holds at most
	// promptLen + n − 1 positions.
	g.ensure(b, batch, promptLen, promptLen+n-1)
	smp := newSampler(req.Sampling, g.lay.vocab)
	V := g.lay.vocab
	finished := make([]bool, batch)
	pad := make([]int, batch)

	// Prefill.
	for r, row := range req.Prompts {
		pad[r] = promptLen - len(row)
		for j := range promptLen {
			k := r*promptLen + j
			if j < pad[r] {
				b.ids[k], b.pos[k], b.mask[k] = 0, 0, 0
			} else {
				b.ids[k], b.pos[k], b.mask[k] = row[j-pad[r]], int64(j-pad[r]), 1
			}
		}
	}
	seq, past, parity := promptLen, 0, 0
	for s := 0; ; s++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("generation stopped after %d of %d tokens: %w", s, n, err)
		}
		runNS, err := g.step(b, batch, seq, past, parity)
		tr.RunNS = append(tr.RunNS, runNS)
		if err != nil {
			return nil, err
		}
		live := 0
		for r := range batch {
			off := (r*seq + seq - 1) * V
			id := smp.next(b.logits[off : off+V])
			b.ids[r] = id // the next step's input
			if finished[r] {
				continue
			}
			tr.OutputIDs[r] = append(tr.OutputIDs[r], id)
			if req.StopAtEOS && id == g.lay.eos {
				finished[r] = true
			} else {
				live++
			}
		}
		tr.TokenNS = append(tr.TokenNS, time.Since(start).Nanoseconds())
		if s == n-1 || live == 0 {
			break
		}
		// Prepare the next decode step: one position per row.
		past, seq, parity = past+seq, 1, 1-parity
		T := past + 1
		for r := range batch {
			b.pos[r] = int64(past - pad[r])
			m := b.mask[r*T : (r+1)*T]
			for j := range m {
				m[j] = 1
			}
			for j := range pad[r] {
				m[j] = 0
			}
		}
	}
	return tr, nil
}
