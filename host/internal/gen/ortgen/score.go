package ortgen

import (
	"context"
	"errors"
	"fmt"

	"github.com/pipe-bench/pipe/host/internal/gen"
)

// Score feeds prompt and then continuation through the model
// teacher-forced (batch 1, no sampling) and calls row(i, logits) for each
// i < len(continuation) with the logits that predict continuation[i], after
// prompt and continuation[:i]. logits is valid only during the call (it is
// the generator's buffer; half-precision rows converted to float32).
//
// Scoring is not timed: it is for fidelity (host/internal/fidelity), run
// after a case's timed runs. A graph that computes every position's logits
// scores in one prefill over prompt + continuation[:n−1]; a graph that
// computes the last position only (logits_to_keep, GroupQueryAttention, or
// last-position logits) and the device-resident cache step once per
// continuation token on the KV cache, as generation does.
func (g *Generator) Score(ctx context.Context, prompt, continuation []int64, row func(i int, logits []float32) error) error {
	g.life.RLock()
	defer g.life.RUnlock()
	if g.sess == nil && g.dev == nil {
		return errors.New("generator is closed")
	}
	n := len(continuation)
	if n == 0 {
		return errors.New("score: empty continuation: give at least one token to score")
	}
	// Check sees the prompt and its continuation as one request, which
	// bounds the ids, the positions and the shared cache.
	if err := g.Check(gen.Request{Prompts: [][]int64{prompt}, NewTokens: n}); err != nil {
		return err
	}
	for i, id := range continuation {
		if id < 0 || id >= int64(g.lay.vocab) {
			return fmt.Errorf("score: continuation token %d is id %d, outside the model's vocabulary [0, %d)", i, id, g.lay.vocab)
		}
	}
	b, done := g.acquire()
	defer done()
	if !g.lay.lastLogitsOnly() && g.dev == nil && !g.lay.shareBuffer {
		return g.scoreOnePrefill(b, prompt, continuation, row)
	}
	return g.scoreByStep(ctx, b, prompt, continuation, row)
}

// scoreOnePrefill runs prompt + continuation[:n−1] as one prefill and reads
// the rows from the prompt's last position on.
func (g *Generator) scoreOnePrefill(b *buffers, prompt, continuation []int64, row func(int, []float32) error) error {
	n := len(continuation)
	seq := len(prompt) + n - 1
	g.ensure(b, 1, seq, seq)
	copy(b.ids, prompt)
	copy(b.ids[len(prompt):], continuation[:n-1])
	for j := range seq {
		b.pos[j], b.mask[j] = int64(j), 1
	}
	if _, err := g.step(b, 1, seq, 0, 0); err != nil {
		return err
	}
	for i := range n {
		if err := row(i, g.logitsRow(b, 0, len(prompt)-1+i, seq)); err != nil {
			return err
		}
	}
	return nil
}

// scoreByStep prefills prompt, then feeds continuation one token per step.
func (g *Generator) scoreByStep(ctx context.Context, b *buffers, prompt, continuation []int64, row func(int, []float32) error) error {
	n := len(continuation)
	promptLen := len(prompt)
	kvLen := promptLen + n - 1
	g.ensure(b, 1, promptLen, kvLen)
	if g.lay.shareBuffer && g.dev == nil {
		if err := g.bindShared(b, 1, kvLen); err != nil {
			return err
		}
		defer g.releaseShared(b)
	}
	copy(b.ids, prompt)
	for j := range promptLen {
		b.pos[j], b.mask[j] = int64(j), 1
	}
	seq, past, parity := promptLen, 0, 0
	for i := range n {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("scoring stopped after %d of %d tokens: %w", i, n, err)
		}
		b.rows[0] = int64(seq - 1) // the position whose logits the device path returns
		if _, err := g.step(b, 1, seq, past, parity); err != nil {
			return err
		}
		if err := row(i, g.logitsRow(b, 0, seq-1, seq)); err != nil {
			return err
		}
		if i == n-1 {
			break
		}
		past, seq = past+seq, 1
		if !g.lay.shareBuffer {
			parity = 1 - parity
		}
		b.ids[0], b.pos[0], b.mask[past] = continuation[i], int64(past), 1
	}
	return nil
}
