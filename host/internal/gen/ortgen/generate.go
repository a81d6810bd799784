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
	// kv holds the cache as bytes of the graph's cache type:
	// [parity][2*layer + 0 key | 1 value]. The concat path reads the past
	// from one parity and has the present written into the other; the
	// share-buffer path uses parity 0 alone, bound as past and present.
	kv       [2][][]byte
	shared   []ort.Value // share-buffer: the request's cache tensors, bound every step
	logits   []float32   // float32 logits [batch, seq, vocab]
	logits16 []uint16    // float16 / bfloat16 logits
	row      []float32   // one row of half-precision logits, converted for the sampler
	ids      []int64
	mask     []int64
	pos      []int64
	rows     []int64 // per row, the position whose logits the loop reads next
	rowMask  []int64 // prefillByRow's mask and positions for one row
	rowPos   []int64
	cachePos []int64
	keep     []int64 // logits_to_keep: 1
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
	kvNeed := batch * l.kvHeads * kvLen * l.headDim * l.kvType.size
	if g.dev != nil {
		kvNeed = 0 // the cache lives on the device
	}
	for p := range b.kv {
		if len(b.kv[p]) != 2*l.layers {
			b.kv[p] = make([][]byte, 2*l.layers)
		}
		if p == 1 && l.shareBuffer {
			continue
		}
		for i := range b.kv[p] {
			if len(b.kv[p][i]) < kvNeed {
				b.kv[p][i] = make([]byte, kvNeed)
			}
		}
	}
	logitRows := promptLen
	if l.lastLogitsOnly() {
		logitRows = 1
	}
	n := batch * logitRows * l.vocab
	if l.logitsType.size == 4 && len(b.logits) < n {
		b.logits = make([]float32, n)
	}
	if l.logitsType.size == 2 && len(b.logits16) < n {
		b.logits16 = make([]uint16, n)
		b.row = make([]float32, l.vocab)
	}
	if n := batch * promptLen; len(b.ids) < n {
		b.ids = make([]int64, n)
		b.pos = make([]int64, n)
	}
	if len(b.rows) < batch {
		b.rows = make([]int64, batch)
	}
	if len(b.rowMask) < promptLen {
		b.rowMask = make([]int64, promptLen)
		b.rowPos = make([]int64, promptLen)
	}
	if len(b.cachePos) < promptLen {
		b.cachePos = make([]int64, promptLen)
	}
	if n := batch * kvLen; len(b.mask) < n {
		b.mask = make([]int64, n)
	}
	if b.useCache == nil {
		b.useCache = []bool{false}
		b.keep = []int64{1}
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
	keep(b, list, t, err, shape)
}

// viewRaw is view for bytes of element type et (the cache in any float
// type, half-precision logits).
func viewRaw(b *buffers, list *[]ort.Value, data []byte, et elemType, shape ...int64) {
	t, err := newRawTensor(data, et, shape)
	keep(b, list, t, err, shape)
}

func newRawTensor(data []byte, et elemType, shape []int64) (ort.Value, error) {
	n := int64(et.size)
	for _, d := range shape {
		n *= d
	}
	if n == 0 {
		// An empty past: ORT needs a data pointer all the same.
		return ort.NewCustomDataTensor(ort.Shape(shape), data[:min(len(data), et.size)], et.ort)
	}
	return ort.NewCustomDataTensor(ort.Shape(shape), data[:n], et.ort)
}

func keep[V ort.Value](b *buffers, list *[]ort.Value, t V, err error, shape []int64) {
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

// viewKeep appends logits_to_keep = 1 (the last position), as the scalar
// or the [1] tensor the graph declares.
func (b *buffers) viewKeep(scalar bool) {
	if scalar {
		t, err := ort.NewScalar(int64(1))
		keep(b, &b.inputs, t, err, nil)
		return
	}
	view(b, &b.inputs, b.keep, 1)
}

func (b *buffers) release() {
	for _, v := range b.live {
		v.Destroy()
	}
	b.live = b.live[:0]
	b.viewErr = nil
}

// bindShared creates the request's share-buffer cache tensors, one per key
// and value of kvLen positions, bound as past and present every step.
func (g *Generator) bindShared(b *buffers, batch, kvLen int) error {
	g.releaseShared(b)
	l := g.lay
	for i := range 2 * l.layers {
		t, err := newRawTensor(b.kv[0][i], l.kvType, []int64{int64(batch), int64(l.kvHeads), int64(kvLen), int64(l.headDim)})
		if err != nil {
			g.releaseShared(b)
			return fmt.Errorf("cache tensor [%d, %d, %d, %d]: %s", batch, l.kvHeads, kvLen, l.headDim, oneLine(err))
		}
		b.shared = append(b.shared, t)
	}
	return nil
}

func (g *Generator) releaseShared(b *buffers) {
	for _, v := range b.shared {
		v.Destroy()
	}
	b.shared = b.shared[:0]
}

// step runs the model once: seq new positions per row on top of past cached
// ones. On the concat path it reads the cache from parity and writes the
// present into the other one; on the share-buffer path the same tensors are
// past and present. The caller has filled ids, pos (batch×seq) and mask
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
	if l.io.PositionIDs != "" {
		view(b, &b.inputs, b.pos, B, S)
	}
	if l.io.LogitsToKeep != "" {
		b.viewKeep(l.keepScalar)
	}
	if l.io.CachePosition != "" {
		for j := range seq {
			b.cachePos[j] = int64(past + j)
		}
		view(b, &b.inputs, b.cachePos, S)
	}
	H, D := int64(l.kvHeads), int64(l.headDim)
	if l.shareBuffer {
		b.inputs = append(b.inputs, b.shared...)
	} else {
		for i := range 2 * l.layers {
			viewRaw(b, &b.inputs, b.kv[parity][i], l.kvType, B, H, int64(past), D)
		}
	}
	if l.io.UseCacheBranch != "" {
		b.useCache[0] = past > 0
		view(b, &b.inputs, b.useCache, 1)
	}
	rows := S
	if l.lastLogitsOnly() {
		rows = 1
	}
	if l.logitsType.size == 4 {
		view(b, &b.outputs, b.logits, B, rows, int64(l.vocab))
	} else {
		viewRaw(b, &b.outputs, u16Bytes(b.logits16), l.logitsType, B, rows, int64(l.vocab))
	}
	if l.shareBuffer {
		b.outputs = append(b.outputs, b.shared...)
	} else {
		for i := range 2 * l.layers {
			viewRaw(b, &b.outputs, b.kv[1-parity][i], l.kvType, B, H, T, D)
		}
	}
	if b.viewErr != nil {
		return 0, b.viewErr
	}
	t0 := time.Now()
	err = g.sess.Run(b.inputs, b.outputs)
	runNS = time.Since(t0).Nanoseconds()
	if err != nil {
		return runNS, fmt.Errorf("run %s (batch %d, %d new + %d cached positions): %s", g.lay.name, batch, seq, past, runError(err, g.opts.device()))
	}
	return runNS, nil
}

// prefillsByRow reports whether req's prefill runs row by row: a
// right-padded (GroupQueryAttention) batch of unequal rows whose logits
// hold the last position only, which would be a shorter row's padding.
func (g *Generator) prefillsByRow(req gen.Request) bool {
	if !g.lay.rightPadding || !g.lay.lastLogitsOnly() || len(req.Prompts) < 2 {
		return false
	}
	for _, row := range req.Prompts {
		if len(row) != len(req.Prompts[0]) {
			return true
		}
	}
	return false
}

// prefillByRow prefills each row alone (batch 1, no padding) into the
// request's cache laid out as a right-padded batched prefill leaves it:
// on the shared buffer, row r's block is a [1, kv_heads, kvLen, head_dim]
// tensor of its own, written in place; on the concat path row r's present
// goes to scratch (the empty past's buffer) and is copied into row r's
// block of the next step's past [batch, kv_heads, promptLen, head_dim].
// Row r's logits land at row r of a one-position logits tensor. runNS is the
// time inside the Run calls.
func (g *Generator) prefillByRow(b *buffers, prompts [][]int64, promptLen, kvLen int) (runNS int64, err error) {
	l := g.lay
	H, D, es := int64(l.kvHeads), int64(l.headDim), int64(l.kvType.size)
	for r, row := range prompts {
		n := int64(len(row))
		ns, err := g.prefillRow(b, r, row, kvLen)
		runNS += ns
		if err != nil {
			return runNS, err
		}
		if l.shareBuffer {
			continue
		}
		for i := range 2 * l.layers {
			src, dst := b.kv[0][i], b.kv[1][i]
			for h := range H {
				d := ((int64(r)*H + h) * int64(promptLen) * D) * es
				copy(dst[d:d+n*D*es], src[h*n*D*es:(h+1)*n*D*es])
			}
		}
	}
	return runNS, nil
}

// prefillRow runs row r's prompt alone; see prefillByRow.
func (g *Generator) prefillRow(b *buffers, r int, row []int64, kvLen int) (int64, error) {
	defer b.release()
	l := g.lay
	b.inputs, b.outputs = b.inputs[:0], b.outputs[:0]
	n := int64(len(row))
	for j := range row {
		b.rowMask[j], b.rowPos[j], b.cachePos[j] = 1, int64(j), int64(j)
	}
	view(b, &b.inputs, row, 1, n)
	view(b, &b.inputs, b.rowMask, 1, n)
	if l.io.PositionIDs != "" {
		view(b, &b.inputs, b.rowPos, 1, n)
	}
	if l.io.LogitsToKeep != "" {
		b.viewKeep(l.keepScalar)
	}
	if l.io.CachePosition != "" {
		view(b, &b.inputs, b.cachePos, n)
	}
	H, D, es := int64(l.kvHeads), int64(l.headDim), l.kvType.size
	block := int(H) * kvLen * int(D) * es
	var present []ort.Value
	for i := range 2 * l.layers {
		if l.shareBuffer {
			viewRaw(b, &b.inputs, b.kv[0][i][r*block:(r+1)*block], l.kvType, 1, H, int64(kvLen), D)
			present = append(present, b.inputs[len(b.inputs)-1])
		} else {
			viewRaw(b, &b.inputs, b.kv[0][i], l.kvType, 1, H, 0, D)
			viewRaw(b, &present, b.kv[0][i], l.kvType, 1, H, n, D)
		}
	}
	if l.io.UseCacheBranch != "" {
		b.useCache[0] = false
		view(b, &b.inputs, b.useCache, 1)
	}
	V := l.vocab
	if l.logitsType.size == 4 {
		view(b, &b.outputs, b.logits[r*V:(r+1)*V], 1, 1, int64(V))
	} else {
		viewRaw(b, &b.outputs, u16Bytes(b.logits16[r*V:(r+1)*V]), l.logitsType, 1, 1, int64(V))
	}
	b.outputs = append(b.outputs, present...)
	if b.viewErr != nil {
		return 0, b.viewErr
	}
	t0 := time.Now()
	err := g.sess.Run(b.inputs, b.outputs)
	runNS := time.Since(t0).Nanoseconds()
	if err != nil {
		return runNS, fmt.Errorf("run %s (prefill of row %d alone, %d positions): %s", l.name, r, n, runError(err, g.opts.device()))
	}
	return runNS, nil
}

// logitsRow returns row r's logits at position j of a step with seq
// positions, as float32 (converted from half precision into b.row: one row,
// exactly).
func (g *Generator) logitsRow(b *buffers, r, j, seq int) []float32 {
	V := g.lay.vocab
	if g.lay.lastLogitsOnly() {
		j, seq = 0, 1
	}
	off := (r*seq + j) * V
	if g.lay.logitsType.size == 4 {
		return b.logits[off : off+V]
	}
	g.lay.logitsType.toFloat32(b.row, b.logits16[off:off+V])
	return b.row
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
	if ml := g.lay.maxLength; g.lay.shareBuffer && ml > 0 && longest+req.NewTokens-1 > ml {
		return fmt.Errorf("prompt of %d tokens + %d new tokens needs %d cache positions, more than the shared cache's %d (genai_config.json search.max_length): shorten the prompt or ask for fewer tokens", longest, req.NewTokens, longest+req.NewTokens-1, ml)
	}
	if g.dev != nil && g.prefillsByRow(req) {
		return fmt.Errorf("prompt rows of %d and %d tokens: this GroupQueryAttention model computes logits for the last position only, so pipe prefills unequal rows one by one, which the device-resident cache does not do yet: use equal-length prompts, batch 1, or [model.options] %s = \"host\"", len(req.Prompts[0]), longest, KVCacheKey)
	}
	if s := req.Sampling; s.TopK < 0 || s.TopP < 0 || s.TopP > 1 || s.Temperature < 0 {
		return fmt.Errorf("sampling temperature %g, top_k %d, top_p %g: need temperature ≥ 0, top_k ≥ 0, 0 ≤ top_p ≤ 1", s.Temperature, s.TopK, s.TopP)
	}
	return nil
}

// Generate runs one request: a prefill of every row (padded to the
// longest, padding masked out and skipped by position ids), then one decode
// step per further token. Rows are left-padded, except for graphs whose
// attention is GroupQueryAttention, which reads each row's cache from
// position 0 (its sequence lengths come from the mask's sum): those are
// right-padded. Exactly NewTokens tokens per row unless StopAtEOS; TokenNS
// holds one timestamp per step (each step yields one token for every row),
// RunNS the time inside each Run call.
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
	kvLen := promptLen + n - 1
	g.ensure(b, batch, promptLen, kvLen)
	if g.lay.shareBuffer && g.dev == nil {
		if err := g.bindShared(b, batch, kvLen); err != nil {
			return nil, err
		}
		defer g.releaseShared(b)
	}
	smp := newSampler(req.Sampling, g.lay.vocab)
	finished := make([]bool, batch)
	pad := make([]int, batch)
	right := g.lay.rightPadding

	// Prefill.
	padID := max(g.lay.padID, 0)
	for r, row := range req.Prompts {
		pad[r] = promptLen - len(row)
		for j := range promptLen {
			k := r*promptLen + j
			real := j - pad[r] // left padding: the row starts at pad[r]
			if right {
				real = j
			}
			if real < 0 || real >= len(row) {
				b.ids[k], b.pos[k], b.mask[k] = padID, 0, 0
			} else {
				b.ids[k], b.pos[k], b.mask[k] = row[real], int64(real), 1
			}
		}
	}
	seq, past, parity := promptLen, 0, 0
	var err error
	for s := 0; ; s++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("generation stopped after %d of %d tokens: %w", s, n, err)
		}
		for r := range batch {
			b.rows[r] = int64(seq - 1)
			if right && s == 0 {
				b.rows[r] = int64(len(req.Prompts[r]) - 1) // the row's last real position
			}
		}
		var runNS int64
		if s == 0 && g.prefillsByRow(req) {
			runNS, err = g.prefillByRow(b, req.Prompts, promptLen, kvLen)
		} else {
			runNS, err = g.step(b, batch, seq, past, parity)
		}
		tr.RunNS = append(tr.RunNS, runNS)
		if err != nil {
			return nil, err
		}
		live := 0
		for r := range batch {
			id := smp.next(g.logitsRow(b, r, int(b.rows[r]), seq))
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
		// Prepare the next decode step: one position per row. Row r holds
		// T − pad[r] real positions, its padding first (left) or last
		// (right).
		past, seq = past+seq, 1
		if !g.lay.shareBuffer {
			parity = 1 - parity
		}
		T := past + 1
		for r := range batch {
			b.pos[r] = int64(past - pad[r])
			m := b.mask[r*T : (r+1)*T]
			for j := range m {
				m[j] = 1
			}
			zeros := m[:pad[r]]
			if right {
				zeros = m[T-pad[r]:]
			}
			for j := range zeros {
				zeros[j] = 0
			}
		}
	}
	return tr, nil
}
