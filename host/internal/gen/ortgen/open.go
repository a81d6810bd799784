package ortgen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/pipe-bench/pipe/host/internal/model"
)

// Open creates a generator for m: it loads the runtime (once per process),
// creates the session with opts and records the load time and the RSS it
// cost in Info.
func Open(m *model.Model, opts Options) (*Generator, error) {
	if m == nil {
		return nil, errors.New("no model: load one with model.Load or model.Builtin")
	}
	lay, err := layoutOf(m)
	if err != nil {
		return nil, err
	}
	if opts.ProfilePrefix != "" {
		if onDevice, _ := opts.kvOnDevice(); onDevice {
			return nil, fmt.Errorf("model %s: ONNX Runtime's profiler runs on pipe's host-memory session, not the device-resident cache: set [model.options] %s = \"host\" to profile on %s", m.Name, KVCacheKey, opts.device())
		}
	}
	return openLayout(lay, opts)
}

// enableProfiling turns the runtime's profiler on when o asks for it; the
// prefix's directory must exist.
func (o Options) enableProfiling(so *ort.SessionOptions) error {
	if o.ProfilePrefix == "" {
		return nil
	}
	dir := filepath.Dir(o.ProfilePrefix)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("profile prefix %s: its directory %s does not exist: create it first", o.ProfilePrefix, dir)
	}
	if err := so.EnableProfiling(o.ProfilePrefix); err != nil {
		return fmt.Errorf("enable profiling into %s: %s", o.ProfilePrefix, oneLine(err))
	}
	return nil
}

// ProfileFile is the profile ONNX Runtime wrote for a session opened with
// ProfilePrefix prefix, once that session is closed: the newest
// PREFIX_*.json (the runtime appends the date).
func ProfileFile(prefix string) (string, error) {
	matches, err := filepath.Glob(prefix + "_*.json")
	if err != nil {
		return "", fmt.Errorf("profile prefix %s: %w", prefix, err)
	}
	best, bestTime := "", int64(0)
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && (best == "" || st.ModTime().UnixNano() > bestTime) {
			best, bestTime = m, st.ModTime().UnixNano()
		}
	}
	if best == "" {
		return "", fmt.Errorf("no profile %s_*.json: the runtime writes it when the session closes (Generator.Close)", prefix)
	}
	return best, nil
}

// layoutOf is what the generation loop needs from m.
func layoutOf(m *model.Model) (layout, error) {
	c := m.Config
	kv, err := elemTypeOf(m.KVType)
	if err != nil {
		return layout{}, fmt.Errorf("model %s: cache: %w", m.Name, err)
	}
	lt, err := elemTypeOf(m.LogitsType)
	if err != nil {
		return layout{}, fmt.Errorf("model %s: logits: %w", m.Name, err)
	}
	return layout{
		path:           m.Path,
		name:           m.Name,
		style:          m.Style,
		sha256:         m.SHA256,
		bytes:          m.Bytes,
		params:         m.Params,
		layers:         c.Layers,
		heads:          c.Heads,
		kvHeads:        c.KVHeads,
		headDim:        c.HeadDim,
		vocab:          c.Vocab,
		maxPositions:   c.MaxPositions,
		eos:            c.EOS,
		padID:          m.PadID,
		io:             m.IO,
		kvType:         kv,
		logitsType:     lt,
		logitsLastOnly: m.LogitsLastOnly,
		keepScalar:     m.LogitsToKeepScalar,
		shareBuffer:    m.ShareBuffer,
		maxLength:      m.MaxLength,
		rightPadding:   m.Ops["GroupQueryAttention"] > 0,
		hints:          m.Session,
		layoutName:     m.Layout,
		variant:        m.Variant,
		precision:      m.Precision,
		weightBytes:    m.WeightBytes,
		weightPerToken: m.WeightBytesPerToken,
	}, nil
}

// names are the session's inputs and outputs, in the order step binds them.
func (l *layout) names() (in, out []string) {
	in = []string{l.io.InputIDs, l.io.AttentionMask}
	for _, name := range []string{l.io.PositionIDs, l.io.LogitsToKeep, l.io.CachePosition} {
		if name != "" {
			in = append(in, name)
		}
	}
	for i := range l.layers {
		in = append(in, l.io.PastKey[i], l.io.PastValue[i])
	}
	if l.io.UseCacheBranch != "" {
		in = append(in, l.io.UseCacheBranch)
	}
	out = []string{l.io.Logits}
	for i := range l.layers {
		out = append(out, l.io.PresentKey[i], l.io.PresentValue[i])
	}
	return in, out
}
