package model

import (
	"fmt"
	"math"
	"strings"
)

// The LM head of the graphs pipe builds runs on each row's last position
// only, in every style: during a prefill of s tokens the head is s − 1
// [hidden × vocab] products the generation loop would throw away (GPT-2's
// head is a third of its weights). The logits output is then
// [batch, 1, vocab], which is how model.Load and the generation loop know
// to read one row (LogitsLastOnly). Models pipe does not build (optimum's
// exports) keep every position's logits and run as before. Which position
// is last depends on the padding: the optimum and fused graphs take
// left-padded batches, so it is s − 1 for every row (lastColumn);
// GroupQueryAttention's are right-padded, so it is each row's own length
// (lastPositions, gqa.go).
//
// allLogits (graphBuilder, BuildOptions, pipeInfo) builds the head at every
// position instead, as optimum exports it: the tests that check every
// prompt position against the reference build that graph.

// logitsSeq is the logits' sequence dim in the optimum layout: 1, or
// "sequence_length" with allLogits.
func (b *graphBuilder) logitsSeq() any {
	if b.allLogits {
		return "sequence_length"
	}
	return 1
}

// lastColumn keeps position s − 1 of h [b, s, width]: [b, 1, width], the
// last real token of every row of a left-padded batch (and a decode step's
// one position).
func (b *graphBuilder) lastColumn(h string) string {
	return b.onnx("Slice", "/last/slice", []string{h,
		b.constInt64("/last/start", []int64{1}, -1),
		b.constInt64("/last/end", []int64{1}, math.MaxInt64),
		b.constInt64("/last/axis", []int64{1}, 1)})
}

// rows3 reshapes v [b·s, width] to [b, s, width]; batchSeq is [b, s].
func (b *llamaGraph) rows3(name, v, batchSeq string, width int) string {
	shape := b.onnx("Concat", name+"/shape", []string{batchSeq, b.constInt64(name+"/width", []int64{1}, int64(width))}, attrInt("axis", 0))
	return b.onnx("Reshape", name, []string{v, shape})
}

// llamaHead is the Llama family's final RMSNorm and LM head on x
// [b·s, hidden], writing logits: at the position pick chooses of each row
// ([b, s, hidden] → [b, 1, hidden]; logits [b, 1, vocab]), or, when pick is
// nil, at every position (logits [b, s, vocab]).
func (b *llamaGraph) llamaHead(x, batchSeq string, pick func(string) string) {
	c := b.lc
	h := b.rmsNorm("/norm", x, "model.norm.weight")
	if pick != nil {
		h = pick(b.rows3("/norm/rows", h, batchSeq, c.Hidden))
		h = b.onnx("Reshape", "/lm_head/flatten", []string{h, b.constInt64("/lm_head/flat_shape", []int64{2}, -1, int64(c.Hidden))})
	}
	logits := b.gemm("/lm_head", h, strings.TrimSuffix(c.lmHeadName(), ".weight"), false)
	var shape string
	if pick == nil {
		shape = b.onnx("Concat", "/lm_head/logits_shape", []string{batchSeq, b.constInt64("/lm_head/vocab", []int64{1}, int64(c.Vocab))}, attrInt("axis", 0))
	} else {
		shape = b.constInt64("/lm_head/logits_shape", []int64{3}, -1, 1, int64(c.Vocab))
	}
	b.op("", "Reshape", Logits, 1, []string{logits, shape})
}

// errGQAAllLogits refuses allLogits for StyleGQA, whose GenAI layout
// computes the last position only.
var errGQAAllLogits = fmt.Errorf("style %q computes the LM head at the last position only: build style %q or %q for every position's logits", StyleGQA, StyleOptimum, StyleFused)
