package roofline

// Peer is another engine timed beside pipe's generator in Bench, rep by
// rep, so that both meet the same machine conditions (pipe bench --peer:
// host/internal/peer/llamacpp). Its rows carry its own precision and
// roofline, from the weight and KV bytes it reads.
type Peer interface {
	Name() string      // the rows' engine, e.g. "llama.cpp"
	Precision() string // e.g. "f32", "q8_0"
	Spinning() bool    // whether its threads busy-wait between work
	// WeightBytesPerToken and KVBytesPerToken are what one decode step
	// reads, as WeightBytesPerToken and KVBytesPerToken are for pipe's model.
	WeightBytesPerToken() int64
	KVBytesPerToken(ctx int) int64
	// Generate prefills prompt and decodes n tokens greedily: TTFT in ms and
	// decode tok/s as pipe's are defined (measure.FromTrace, the bare loop).
	Generate(prompt []int64, n int) (ttftMS, decodeTPS float64, err error)
	// Info is what the figures record about it (version, settings).
	Info() any
}
