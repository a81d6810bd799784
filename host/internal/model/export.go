package model

// GPT2Weights calls each for every weight of cfg's GPT-2 with seed, in file
// order, with the values Build writes into the ONNX model (fp32, before any
// quantisation): Hugging Face's GPT2LMHeadModel names, dims as stored
// (Conv1D matrices [in, out]) and the values, in a buffer reused between
// calls. It is how another format (host/internal/gguf) gets the very
// weights pipe runs, one tensor in memory at a time.
func GPT2Weights(cfg Config, seed uint64, each func(name string, dims []int64, v []float32) error) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	fill := seededWeights(seed)
	var buf []float32
	for _, w := range weightSpecs(cfg) {
		buf = grow(buf, w.elems())
		if err := fill(w, buf); err != nil {
			return err
		}
		if err := each(w.name, w.dims, buf); err != nil {
			return err
		}
	}
	return nil
}

// WeightShape is one weight's name and dims, as GPT2Weights gives them.
type WeightShape struct {
	Name string
	Dims []int64
}

// GPT2WeightShapes lists GPT2Weights' tensors, in the same order, without
// generating their values.
func GPT2WeightShapes(cfg Config) ([]WeightShape, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	specs := weightSpecs(cfg)
	out := make([]WeightShape, len(specs))
	for i, w := range specs {
		out[i] = WeightShape{w.name, w.dims}
	}
	return out, nil
}

// Float16Bits is float16Bits (round to nearest even) for other packages.
func Float16Bits(f float32) uint16 { return float16Bits(f) }
