package model

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// GenAIConfigFile names ONNX Runtime GenAI's model description.
const GenAIConfigFile = "genai_config.json"

// genaiConfig is the part of genai_config.json pipe reads: the decoder's
// file, its input and output names (the cache names as printf templates
// over the layer index), its sizes and token ids, its session options and
// whether the past and present caches share one buffer.
type genaiConfig struct {
	Model struct {
		BOS           json.RawMessage `json:"bos_token_id"`
		EOS           json.RawMessage `json:"eos_token_id"`
		Pad           json.RawMessage `json:"pad_token_id"`
		ContextLength int             `json:"context_length"`
		VocabSize     int             `json:"vocab_size"`
		Type          string          `json:"type"`
		Decoder       struct {
			Filename       string            `json:"filename"`
			HeadSize       int               `json:"head_size"`
			HiddenSize     int               `json:"hidden_size"`
			Heads          int               `json:"num_attention_heads"`
			KVHeads        int               `json:"num_key_value_heads"`
			Layers         int               `json:"num_hidden_layers"`
			Inputs         map[string]string `json:"inputs"`
			Outputs        map[string]string `json:"outputs"`
			SessionOptions json.RawMessage   `json:"session_options"`
		} `json:"decoder"`
	} `json:"model"`
	Search struct {
		MaxLength   int  `json:"max_length"`
		ShareBuffer bool `json:"past_present_share_buffer"`
	} `json:"search"`
}

// SessionHints are a model's own session settings (genai_config.json's
// session_options). The runtime applies each one the pipeline leaves unset
// and records which it applied.
type SessionHints struct {
	IntraOpThreads int
	InterOpThreads int
	OptLevel       string            // all, extended, basic or disable; "" when unset
	Config         map[string]string // session configuration entries (config_entries)
	// Provider holds each execution provider's options by provider name
	// ("cuda": {"enable_cuda_graph": "0"}).
	Provider map[string]map[string]string
	// Ignored lists the session_options keys pipe does not apply.
	Ignored []string
}

var genaiOptLevels = map[string]string{
	"ORT_ENABLE_ALL": "all", "ORT_ENABLE_EXTENDED": "extended", "ORT_ENABLE_BASIC": "basic", "ORT_DISABLE_ALL": "disable",
}

// readGenAIConfig reads dir/genai_config.json; ok is false when there is none.
func readGenAIConfig(dir string) (gc *genaiConfig, ok bool, err error) {
	path := filepath.Join(dir, GenAIConfigFile)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	gc = new(genaiConfig)
	if err := json.Unmarshal(b, gc); err != nil {
		return nil, false, fmt.Errorf("%s: %s: fix the JSON or remove the file", path, oneLineJSON(err))
	}
	d := gc.Model.Decoder
	if d.Filename == "" {
		return nil, false, fmt.Errorf("%s: model.decoder.filename is missing: name the decoder's .onnx file", path)
	}
	if filepath.IsAbs(d.Filename) || strings.Contains(filepath.ToSlash(d.Filename), "../") {
		return nil, false, fmt.Errorf("%s: model.decoder.filename %q leaves the model directory: name a file inside it", path, d.Filename)
	}
	for _, k := range []string{"past_key_names", "past_value_names"} {
		if t, ok := d.Inputs[k]; ok && strings.Count(t, "%d") != 1 {
			return nil, false, fmt.Errorf("%s: model.decoder.inputs.%s = %q needs exactly one %%d for the layer index", path, k, t)
		}
	}
	for _, k := range []string{"present_key_names", "present_value_names"} {
		if t, ok := d.Outputs[k]; ok && strings.Count(t, "%d") != 1 {
			return nil, false, fmt.Errorf("%s: model.decoder.outputs.%s = %q needs exactly one %%d for the layer index", path, k, t)
		}
	}
	return gc, true, nil
}

// name returns the configured name for key in m (inputs or outputs), or def.
func genaiName(m map[string]string, key, def string) string {
	if v, ok := m[key]; ok && v != "" {
		return v
	}
	return def
}

// names turns the config's names and templates into the graph names for
// layers layers (GenAI's defaults where a key is absent).
func (gc *genaiConfig) names(layers int) IONames {
	in, out := gc.Model.Decoder.Inputs, gc.Model.Decoder.Outputs
	n := IONames{
		InputIDs:      genaiName(in, "input_ids", InputIDs),
		AttentionMask: genaiName(in, "attention_mask", AttentionMask),
		PositionIDs:   genaiName(in, "position_ids", PositionIDs),
		Logits:        genaiName(out, "logits", Logits),
	}
	pk, pv := genaiName(in, "past_key_names", pastKeyTemplate), genaiName(in, "past_value_names", pastValueTemplate)
	ok, ov := genaiName(out, "present_key_names", presentKeyTemplate), genaiName(out, "present_value_names", presentValueTemplate)
	for i := range layers {
		n.PastKey = append(n.PastKey, fmt.Sprintf(pk, i))
		n.PastValue = append(n.PastValue, fmt.Sprintf(pv, i))
		n.PresentKey = append(n.PresentKey, fmt.Sprintf(ok, i))
		n.PresentValue = append(n.PresentValue, fmt.Sprintf(ov, i))
	}
	return n
}

// tokenID reads a token id that may be a number or a list of numbers (the
// first counts); -1 when absent.
func tokenID(raw json.RawMessage) int64 {
	if len(raw) == 0 {
		return -1
	}
	if id, ok, err := firstTokenID(raw); ok && err == nil {
		return id
	}
	return -1
}

// sessionHints parses session_options.
func (gc *genaiConfig) sessionHints() (SessionHints, error) {
	var h SessionHints
	raw := gc.Model.Decoder.SessionOptions
	if len(raw) == 0 {
		return h, nil
	}
	var so map[string]json.RawMessage
	if err := json.Unmarshal(raw, &so); err != nil {
		return h, fmt.Errorf("model.decoder.session_options: %s", oneLineJSON(err))
	}
	for k, v := range so {
		var err error
		switch k {
		case "intra_op_num_threads":
			err = json.Unmarshal(v, &h.IntraOpThreads)
		case "inter_op_num_threads":
			err = json.Unmarshal(v, &h.InterOpThreads)
		case "graph_optimization_level":
			var s string
			if err = json.Unmarshal(v, &s); err == nil {
				if h.OptLevel = genaiOptLevels[s]; h.OptLevel == "" {
					err = fmt.Errorf("%q is not one of ORT_ENABLE_ALL, ORT_ENABLE_EXTENDED, ORT_ENABLE_BASIC, ORT_DISABLE_ALL", s)
				}
			}
		case "config_entries":
			err = json.Unmarshal(v, &h.Config)
		case "provider_options":
			var list []map[string]map[string]any
			if err = json.Unmarshal(v, &list); err == nil {
				h.Provider = map[string]map[string]string{}
				for _, p := range list {
					for name, opts := range p {
						m := map[string]string{}
						for ok, ov := range opts {
							m[ok] = fmt.Sprint(ov)
						}
						h.Provider[name] = m
					}
				}
			}
		case "log_id", "log_severity_level", "enable_profiling":
			// Logging and profiling: pipe's own.
		default:
			h.Ignored = append(h.Ignored, k)
		}
		if err != nil {
			return h, fmt.Errorf("model.decoder.session_options.%s: %s", k, oneLineJSON(err))
		}
	}
	slices.Sort(h.Ignored)
	if h.IntraOpThreads < 0 || h.InterOpThreads < 0 {
		return h, fmt.Errorf("model.decoder.session_options: thread counts %d, %d must be ≥ 0", h.IntraOpThreads, h.InterOpThreads)
	}
	return h, nil
}

// applyGenAI checks genai_config.json against what the graph says (layers,
// kv heads, head size, vocab) and fills what only the config tells: query
// heads, context length, token ids, the share-buffer flag, session hints.
func (m *Model) applyGenAI(gc *genaiConfig) error {
	d, c := gc.Model.Decoder, &m.Config
	where := GenAIConfigFile
	for _, f := range []struct {
		key         string
		cfg, graph  int
		graphSource string
	}{
		{"model.decoder.num_hidden_layers", d.Layers, c.Layers, "cache inputs"},
		{"model.decoder.num_key_value_heads", d.KVHeads, c.KVHeads, "cache's kv_heads dim"},
		{"model.decoder.head_size", d.HeadSize, c.HeadDim, "cache's head_dim dim"},
		{"model.vocab_size", gc.Model.VocabSize, c.Vocab, "logits' vocab dim"},
	} {
		if f.cfg > 0 && f.graph > 0 && f.cfg != f.graph {
			return fmt.Errorf("%s says %s = %d but the graph's %s is %d: the config belongs to another model", where, f.key, f.cfg, f.graphSource, f.graph)
		}
	}
	if d.Heads > 0 {
		c.Heads = d.Heads
		if c.Heads%c.KVHeads != 0 {
			return fmt.Errorf("%s: num_attention_heads %d is not a multiple of the graph's %d key/value heads", where, d.Heads, c.KVHeads)
		}
	}
	if d.HiddenSize > 0 {
		c.Hidden = d.HiddenSize
	}
	if gc.Model.ContextLength > 0 && c.MaxPositions == 0 {
		c.MaxPositions = gc.Model.ContextLength
	}
	if id := tokenID(gc.Model.BOS); id >= 0 {
		c.BOS = id
	}
	if id := tokenID(gc.Model.EOS); id >= 0 {
		c.EOS = id
	}
	m.PadID = tokenID(gc.Model.Pad)
	m.ShareBuffer = gc.Search.ShareBuffer
	m.MaxLength = gc.Search.MaxLength
	if m.MaxLength <= 0 {
		m.MaxLength = c.MaxPositions
	}
	if m.ShareBuffer && m.MaxLength <= 0 {
		return fmt.Errorf("%s: search.past_present_share_buffer is set but neither search.max_length nor model.context_length gives the buffer's length: set search.max_length", where)
	}
	hints, err := gc.sessionHints()
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	m.Session = hints
	return nil
}

func oneLineJSON(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
