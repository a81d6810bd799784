// Package ortcuda runs a decoder step through ONNX Runtime's C API with the
// KV cache left where the execution provider allocated it: on the GPU for
// the CUDA provider.
//
// The package takes a stand on what crosses the PCIe bus during generation:
// the step's input ids, attention mask and position ids go to the device, and
// only the last position's logits of each row come back. Present outputs are
// bound to device memory (IoBinding's BindOutputToDevice) and handed to the
// next step as its past inputs without a copy; the logits tensor stays on the
// device too, and the rows the sampler needs are copied with cudaMemcpy from
// the CUDA runtime that the provider itself loaded (no CUDA link at build
// time, so CPU-only builds and CI are unaffected).
//
// onnxruntime_go v1.27.0 knows one CPU memory info and copies every bound
// output into Go memory, so this layer talks to the C API directly (the
// header is the one that module ships, vendored under third_party/onnxruntime).
// It shares the runtime
// library and environment that onnxruntime_go loaded: call Load after
// ortgen.Init. The same code runs with the CPU provider (Options.CUDA
// false), which is how the binding logic is tested on machines without a GPU.
//
// The generation loop (prefill, decode, sampling, timing) is not here: it
// lives in ortgen, which uses a Decoder as its step for device "cuda".
package ortcuda

/*
#cgo CFLAGS: -O2 -I${SRCDIR}/../../../../third_party/onnxruntime/include
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "decoder.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/pipe-bench/pipe/sdk/schema"
)

// ErrNoCUDA is wrapped by errors that mean the CUDA execution provider (or a
// GPU for it) is missing, as opposed to a bad option or model.
var ErrNoCUDA = errors.New("CUDA execution provider not available")

// ErrProviderOption is wrapped by errors for a CUDA provider option the
// runtime refused.
var ErrProviderOption = errors.New("CUDA provider option refused")

var loaded struct {
	sync.Mutex
	path    string
	version string
}

// Load binds this package to the ONNX Runtime library at path, which
// onnxruntime_go has already loaded into the process (ortgen.Init), and
// returns the runtime's version. Later calls return the first library's
// version.
func Load(path string) (string, error) {
	loaded.Lock()
	defer loaded.Unlock()
	if loaded.path != "" {
		return loaded.version, nil
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var version *C.char
	if err := takeError(C.pc_load(cpath, &version)); err != nil {
		return "", fmt.Errorf("bind ONNX Runtime C API in %s: %w", path, err)
	}
	loaded.path, loaded.version = path, C.GoString(version)
	return loaded.version, nil
}

// Layout names a decoder's inputs and outputs in the Hugging Face optimum
// layout.
type Layout struct {
	InputIDs, AttentionMask string
	PositionIDs             string // "" when the graph has none
	UseCacheBranch          string // "" unless the graph is the merged form
	Logits                  string
	// Past and Present hold key, value names per layer: layer 0's key,
	// layer 0's value, layer 1's key, …
	Past, Present []string
	KVHeads       int
	HeadDim       int
	Vocab         int
	// KVType and LogitsType are the cache's and the logits' element types
	// (ElemFloat32, ElemFloat16, ElemBFloat16; 0 is float32).
	KVType, LogitsType int
	// LogitsLastOnly is set when the graph's logits hold one position per
	// row ([batch, 1, vocab]: the LM head runs on the last position only,
	// as in every graph pipe builds); a step's logits buffer is then
	// batch×vocab, else batch×seq×vocab.
	LogitsLastOnly bool
}

// Element types, as ONNX numbers them.
const (
	ElemFloat32  = 1
	ElemFloat16  = 10
	ElemBFloat16 = 16
)

// elemSize is the bytes of one element of type t (sdk/schema's
// ElemTypes; validate has refused the others).
func elemSize(t int) int {
	e, _ := schema.ElemTypeONNX(t)
	return e.Bytes
}

func (l Layout) validate() error {
	switch {
	case l.InputIDs == "" || l.AttentionMask == "" || l.Logits == "":
		return errors.New("decoder layout: input_ids, attention_mask and logits names are required")
	case len(l.Past) == 0 || len(l.Past)%2 != 0 || len(l.Past) != len(l.Present):
		return fmt.Errorf("decoder layout: %d past and %d present names: need key and value per layer for both", len(l.Past), len(l.Present))
	case l.KVHeads < 1 || l.HeadDim < 1 || l.Vocab < 1:
		return fmt.Errorf("decoder layout: kv heads %d, head dim %d, vocab %d: each must be ≥ 1", l.KVHeads, l.HeadDim, l.Vocab)
	}
	for _, t := range []int{l.KVType, l.LogitsType} {
		if _, ok := schema.ElemTypeONNX(t); !ok {
			return fmt.Errorf("decoder layout: element type %d: use float32 (1), float16 (10) or bfloat16 (16)", t)
		}
	}
	return nil
}

// Options configures the session.
type Options struct {
	// CUDA selects the CUDA execution provider with the KV cache on the
	// GPU; false runs the same binding logic on the CPU provider.
	CUDA     bool
	DeviceID int
	// IntraOpThreads and InterOpThreads: 0 keeps the runtime's default.
	IntraOpThreads, InterOpThreads int
	// OptLevel is ONNX Runtime's GraphOptimizationLevel value (0, 1, 2, 99).
	OptLevel int
	// Config holds session configuration entries (AddSessionConfigEntry).
	Config map[string]string
	// Provider holds CUDA provider options (arena_extend_strategy,
	// gpu_mem_limit, cudnn_conv_algo_search, use_tf32, …); device_id comes
	// from DeviceID.
	Provider map[string]string
}

// Decoder is one session with its IoBinding and the KV cache of the request
// in flight. It is not safe for concurrent use.
type Decoder struct {
	c          *C.pc_decoder
	layers     int
	vocab      int
	logitsSize int  // bytes per logit
	lastOnly   bool // Layout.LogitsLastOnly
}

// cStrings is a C array of C strings, freed together.
type cStrings struct {
	ptr **C.char
	all []*C.char
}

func newCStrings(ss []string) cStrings {
	if len(ss) == 0 {
		return cStrings{}
	}
	cs := cStrings{ptr: (**C.char)(C.malloc(C.size_t(len(ss)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))}
	arr := unsafe.Slice(cs.ptr, len(ss))
	for i, s := range ss {
		arr[i] = C.CString(s)
		cs.all = append(cs.all, arr[i])
	}
	return cs
}

func (cs cStrings) free() {
	for _, p := range cs.all {
		C.free(unsafe.Pointer(p))
	}
	if cs.ptr != nil {
		C.free(unsafe.Pointer(cs.ptr))
	}
}

func cStringOrNil(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

// sortedPairs splits m in key order: the runtime applies entries one by one.
func sortedPairs(m map[string]string) (keys, values []string) {
	keys = slices.Sorted(maps.Keys(m))
	for _, k := range keys {
		values = append(values, m[k])
	}
	return keys, values
}

// Open creates a decoder session for the ONNX file at modelPath. Load must
// have been called. Errors wrap ErrNoCUDA when the CUDA provider or its GPU
// is missing and ErrProviderOption when a provider option is refused.
func Open(modelPath string, l Layout, o Options) (*Decoder, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	if o.DeviceID < 0 {
		return nil, fmt.Errorf("device id %d < 0: use 0 for the first GPU", o.DeviceID)
	}
	var cl C.pc_layout
	strs := []*C.char{C.CString(l.InputIDs), C.CString(l.AttentionMask), cStringOrNil(l.PositionIDs), cStringOrNil(l.UseCacheBranch), C.CString(l.Logits)}
	defer func() {
		for _, s := range strs {
			C.free(unsafe.Pointer(s))
		}
	}()
	cl.input_ids, cl.attention_mask, cl.position_ids, cl.use_cache_branch, cl.logits = strs[0], strs[1], strs[2], strs[3], strs[4]
	past, present := newCStrings(l.Past), newCStrings(l.Present)
	defer past.free()
	defer present.free()
	cl.past, cl.present = past.ptr, present.ptr
	cl.layers = C.int(len(l.Past) / 2)
	cl.kv_heads, cl.head_dim, cl.vocab = C.int64_t(l.KVHeads), C.int64_t(l.HeadDim), C.int64_t(l.Vocab)
	cl.kv_type, cl.logits_type = C.int(l.KVType), C.int(l.LogitsType)
	cl.logits_size = C.size_t(elemSize(l.LogitsType))
	if l.LogitsLastOnly {
		cl.logits_last_only = 1
	}

	var co C.pc_options
	if o.CUDA {
		co.cuda = 1
	}
	co.device_id = C.int(o.DeviceID)
	co.intra_op_threads, co.inter_op_threads = C.int(o.IntraOpThreads), C.int(o.InterOpThreads)
	co.opt_level = C.int(o.OptLevel)
	ck, cv := sortedPairs(o.Config)
	pk, pv := sortedPairs(o.Provider)
	cks, cvs, pks, pvs := newCStrings(ck), newCStrings(cv), newCStrings(pk), newCStrings(pv)
	defer cks.free()
	defer cvs.free()
	defer pks.free()
	defer pvs.free()
	co.config_keys, co.config_values, co.n_config = cks.ptr, cvs.ptr, C.size_t(len(ck))
	co.provider_keys, co.provider_values, co.n_provider = pks.ptr, pvs.ptr, C.size_t(len(pk))

	cpath := C.CString(modelPath)
	defer C.free(unsafe.Pointer(cpath))
	var d *C.pc_decoder
	var kind C.int
	if err := takeError(C.pc_open(cpath, &cl, &co, &d, &kind)); err != nil {
		switch kind {
		case 1:
			return nil, fmt.Errorf("%w: %s", ErrNoCUDA, err)
		case 2:
			return nil, fmt.Errorf("%w: %s", ErrProviderOption, err)
		}
		return nil, err
	}
	return &Decoder{c: d, layers: len(l.Past) / 2, vocab: l.Vocab, logitsSize: elemSize(l.LogitsType), lastOnly: l.LogitsLastOnly}, nil
}

// LogitsPath says how logits reach the host: "device+cudaMemcpy" (only the
// last rows cross), "host-bound" (no CUDA runtime found: the runtime copies
// every position's logits) or "cpu".
func (d *Decoder) LogitsPath() string { return C.GoString(C.pc_logits_path(d.c)) }

// Step runs seq new positions for batch rows on top of past cached ones, for
// a graph with float32 logits. ids and pos hold batch×seq values (pos may be
// nil when the graph has no position_ids), mask batch×(past+seq). past 0
// starts a new request (the cache is dropped). On success the presents are
// the cache for the next step and the last position's logits of row r are in
// logits[(r*seq+seq-1)*vocab:][:vocab] (logits[r*vocab:][:vocab] for a
// Layout.LogitsLastOnly graph, whose buffer needs batch×vocab values only);
// runNS is the time inside the runtime's Run, output synchronization
// included.
func (d *Decoder) Step(batch, seq, past int, ids, mask, pos []int64, logits []float32) (runNS int64, err error) {
	var raw []byte
	if len(logits) > 0 {
		raw = unsafe.Slice((*byte)(unsafe.Pointer(&logits[0])), 4*len(logits))
	}
	return d.StepRows(batch, seq, past, ids, mask, pos, nil, raw)
}

// StepRows is Step for logits of any element type, as bytes, reading row
// r's logits at position rows[r] (seq−1 for every row when rows is nil:
// a right-padded prefill reads each row at its own end). The row lands at
// the offset it has in the graph's output: (r*seq+rows[r])*vocab elements,
// or r*vocab when the graph's logits hold one position per row.
func (d *Decoder) StepRows(batch, seq, past int, ids, mask, pos, rows []int64, logits []byte) (runNS int64, err error) {
	if d.c == nil {
		return 0, errors.New("decoder is closed")
	}
	n, nt := batch*seq, batch*(past+seq)
	rowsOut := n // logit rows the graph writes
	if d.lastOnly {
		rowsOut = batch
	}
	switch {
	case batch < 1 || seq < 1 || past < 0:
		return 0, fmt.Errorf("step batch %d, seq %d, past %d: need batch ≥ 1, seq ≥ 1, past ≥ 0", batch, seq, past)
	case len(ids) < n || len(mask) < nt || (pos != nil && len(pos) < n) || (rows != nil && len(rows) < batch):
		return 0, fmt.Errorf("step buffers: %d ids, %d mask, %d positions, %d rows for batch %d × (%d past + %d new)", len(ids), len(mask), len(pos), len(rows), batch, past, seq)
	case len(logits) < rowsOut*d.vocab*d.logitsSize:
		return 0, fmt.Errorf("step logits buffer holds %d values, need %d", len(logits)/d.logitsSize, rowsOut*d.vocab)
	}
	posPtr := (*C.int64_t)(unsafe.Pointer(&ids[0]))
	if pos != nil {
		posPtr = (*C.int64_t)(unsafe.Pointer(&pos[0]))
	}
	var rowsPtr *C.int64_t
	if rows != nil {
		rowsPtr = (*C.int64_t)(unsafe.Pointer(&rows[0]))
	}
	var ns C.int64_t
	e := C.pc_step(d.c, C.int64_t(batch), C.int64_t(seq), C.int64_t(past),
		(*C.int64_t)(unsafe.Pointer(&ids[0])), (*C.int64_t)(unsafe.Pointer(&mask[0])), posPtr, rowsPtr,
		unsafe.Pointer(&logits[0]), &ns)
	return int64(ns), takeError(e)
}

// Close releases the session, its binding and the cache.
func (d *Decoder) Close() error {
	if d.c != nil {
		C.pc_close(d.c)
		d.c = nil
	}
	return nil
}

// takeError turns a malloc'd C message into a one-line error and frees it.
func takeError(e *C.char) error {
	if e == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(e))
	return errors.New(oneLine(C.GoString(e)))
}

// oneLine flattens "what: runtime message" to one line and drops the
// source location ONNX Runtime puts before its own message
// ("/onnxruntime_src/….cc:1988 Foo() [ONNXRuntimeError] : 1 : FAIL : …").
func oneLine(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	const tag = "[ONNXRuntimeError] : "
	what, rest, ok := strings.Cut(msg, ": ")
	if i := strings.Index(rest, tag); ok && i >= 0 {
		if parts := strings.SplitN(rest[i+len(tag):], " : ", 3); len(parts) == 3 {
			msg = what + ": " + parts[2]
		}
	}
	// Kernel messages carry "/onnxruntime_src/….h:563 void Foo::Bar(args) "
	// before the failed check.
	return sourceLocation.ReplaceAllString(msg, "")
}

var sourceLocation = regexp.MustCompile(`/onnxruntime_src/\S+:\d+ (?:[^()]*\([^()]*\)[^ ]* )?`)
