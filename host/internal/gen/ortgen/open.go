package ortgen

import (
	"errors"

	"github.com/pipe-bench/pipe/host/internal/model"
)

// Open creates a generator for m: it loads the runtime (once per process),
// creates the session with opts and records the load time and the RSS it
// cost in Info.
func Open(m *model.Model, opts Options) (*Generator, error) {
	if m == nil {
		return nil, errors.New("no model: load one with model.Load or model.Builtin")
	}
	return openLayout(layoutOf(m), opts)
}

func layoutOf(m *model.Model) layout {
	c := m.Config
	l := layout{
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
		hasPositionIDs: m.HasPositionIDs,
		merged:         m.Merged,
	}
	for i := range c.Layers {
		k, v := m.KVInput(i)
		pk, pv := m.KVOutput(i)
		l.pastKey, l.pastValue = append(l.pastKey, k), append(l.pastValue, v)
		l.presentKey, l.presentValue = append(l.presentKey, pk), append(l.presentValue, pv)
	}
	return l
}
