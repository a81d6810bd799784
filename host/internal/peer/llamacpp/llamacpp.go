// Package llamacpp times llama.cpp, what a CPU user picks instead of pipe,
// beside pipe's generator on the same architecture and the same weights
// (pipe bench --peer llama.cpp).
//
// Its stance: measure llama.cpp as its users get it and exactly as pipe is
// measured. llama.cpp is node-llama-cpp's prebuilt CPU build (an optional
// asset, assets.LlamaCpp, fetched on first use and never in CI); a small C
// driver (driver/driver.c, embedded and compiled with the machine's gcc into
// the cache on first use) loads a GGUF that host/internal/gguf wrote from
// pipe's own seeded GPT-2, and times prefill and greedy decode with pipe's
// definitions of TTFT and decode tok/s, fed the same token ids. Its settings
// are llama.cpp's defaults (f16 KV cache, flash attention on auto) and
// llama-bench's threads (a persistent threadpool that busy-waits, poll 50),
// except the thread count, which is pipe's. Before
// timing, the f32 model's logits are checked against pipe's plain-Go
// reference forward pass, so the rows time the model pipe runs, not a
// mistranslation of it.
package llamacpp

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/gguf"
	"github.com/pipe-bench/pipe/host/internal/tailbuf"
)

// Name is the engine name of llama.cpp's rows.
const Name = "llama.cpp"

// Engine is one llama.cpp process with one GGUF loaded; it implements
// roofline.Peer.
type Engine struct {
	precision gguf.Type
	info      Info
	cmd       *exec.Cmd
	in        *bufio.Writer
	inPipe    io.WriteCloser
	out       *bufio.Reader
	stderr    *tailbuf.Buffer
	weights   int64 // bytes read per decode step
	kvPerPos  int64 // KV cache bytes per position
}

// Info is what the figures record about one llama.cpp engine.
type Info struct {
	Engine    string `json:"engine"`
	Precision string `json:"precision"`
	Package   string `json:"package"` // the npm package its libraries came from
	Tag       string `json:"llama_cpp_tag"`
	GGUF      string `json:"gguf"`
	Settings
	// MaxAbsLogitDiff is the largest |Δlogit| against pipe's plain-Go
	// reference at the check prompt (see Check).
	MaxAbsLogitDiff float64 `json:"max_abs_logit_diff_vs_reference"`
}

// Settings are what the driver reports it runs with, in its first line.
type Settings struct {
	Threads   int    `json:"threads"`
	NCtx      int    `json:"n_ctx"`
	NBatch    int    `json:"n_batch"`
	NUbatch   int    `json:"n_ubatch"`
	KVType    string `json:"kv_type"`
	FlashAttn string `json:"flash_attn"`
	// ThreadpoolPoll is the persistent ggml threadpool's poll level
	// (llama-bench's default 50: workers busy-wait before sleeping).
	ThreadpoolPoll int    `json:"threadpool_poll"`
	CPUBackend     string `json:"cpu_backend"`
	SystemInfo     string `json:"system_info"`
}

// ready is the driver's first line.
type ready struct {
	Ready  bool   `json:"ready"`
	Error  string `json:"error"`
	NVocab int    `json:"n_vocab"`
	Settings
}

// run is the driver's answer to gen.
type run struct {
	Error     string  `json:"error"`
	TTFTms    float64 `json:"ttft_ms"`
	DecodeTPS float64 `json:"decode_tps"`
	E2Ems     float64 `json:"e2e_ms"`
	Tokens    []int64 `json:"tokens"`
}

// open starts the driver on the GGUF at path.
func open(driver, libDir, path string, typ gguf.Type, threads, nCtx int, weights, kvPerPos int64) (*Engine, error) {
	cmd := exec.Command(driver, path, strconv.Itoa(threads), strconv.Itoa(nCtx), libDir)
	e := &Engine{precision: typ, cmd: cmd, stderr: &tailbuf.Buffer{Max: 4096}, weights: weights, kvPerPos: kvPerPos}
	cmd.Stderr = e.stderr
	var err error
	if e.inPipe, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("llama.cpp driver %s: %w", driver, err)
	}
	e.in, e.out = bufio.NewWriter(e.inPipe), bufio.NewReaderSize(stdout, 1<<20)
	var r ready
	if err := e.answer(&r); err != nil {
		e.Close()
		return nil, fmt.Errorf("llama.cpp refused %s (%v): delete it to have pipe write it again, or report the GGUF writer's bug", path, err)
	}
	r.SystemInfo = strings.TrimSpace(r.SystemInfo)
	e.info = Info{Engine: Name, Precision: typ.String(), GGUF: path, Settings: r.Settings}
	return e, nil
}

// answer reads one JSON line into v; a driver error or exit becomes an
// error of one line (the driver's message, else its last stderr line).
func (e *Engine) answer(v any) error {
	line, err := e.out.ReadBytes('\n')
	if err != nil {
		e.cmd.Wait()
		return fmt.Errorf("the driver exited (%v): %s", e.cmd.ProcessState, e.stderr.LastLine())
	}
	var msg struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(line, &msg) == nil && msg.Error != "" {
		return fmt.Errorf("%s", msg.Error)
	}
	return json.Unmarshal(line, v)
}

// command sends one command with prompt's ids.
func (e *Engine) command(head string, prompt []int64) error {
	e.in.WriteString(head)
	fmt.Fprintf(e.in, " %d", len(prompt))
	for _, id := range prompt {
		e.in.WriteByte(' ')
		e.in.WriteString(strconv.FormatInt(id, 10))
	}
	e.in.WriteByte('\n')
	return e.in.Flush()
}

// Generate implements roofline.Peer.
func (e *Engine) Generate(prompt []int64, n int) (float64, float64, error) {
	r, err := e.GenerateTokens(prompt, n)
	return r.TTFTms, r.DecodeTPS, err
}

// Result is one timed generation.
type Result struct {
	TTFTms, DecodeTPS, E2Ems float64
	Tokens                   []int64
}

// GenerateTokens prefills prompt, decodes n tokens greedily and returns the
// timings and the tokens.
func (e *Engine) GenerateTokens(prompt []int64, n int) (Result, error) {
	if err := e.command("gen "+strconv.Itoa(n), prompt); err != nil {
		return Result{}, fmt.Errorf("llama.cpp %s: %w", e.precision, err)
	}
	var r run
	if err := e.answer(&r); err != nil {
		return Result{}, fmt.Errorf("llama.cpp %s: %w", e.precision, err)
	}
	return Result{TTFTms: r.TTFTms, DecodeTPS: r.DecodeTPS, E2Ems: r.E2Ems, Tokens: r.Tokens}, nil
}

// Logits returns the last position's logits after prefilling prompt.
func (e *Engine) Logits(prompt []int64) ([]float32, error) {
	if err := e.command("logits", prompt); err != nil {
		return nil, err
	}
	var r struct {
		Logits []float32 `json:"logits"`
	}
	if err := e.answer(&r); err != nil {
		return nil, fmt.Errorf("llama.cpp %s: %w", e.precision, err)
	}
	return r.Logits, nil
}

// Name, Precision, Spinning, WeightBytesPerToken, KVBytesPerToken and Info
// implement roofline.Peer.
func (e *Engine) Name() string                  { return Name }
func (e *Engine) Precision() string             { return e.precision.String() }
func (e *Engine) Spinning() bool                { return true } // ggml's threadpool busy-waits
func (e *Engine) WeightBytesPerToken() int64    { return e.weights }
func (e *Engine) KVBytesPerToken(ctx int) int64 { return e.kvPerPos * int64(ctx) }
func (e *Engine) Info() any                     { return e.info }

// Close ends the driver.
func (e *Engine) Close() error {
	if e.inPipe != nil {
		e.inPipe.Close()
	}
	if e.cmd.ProcessState == nil {
		return e.cmd.Wait()
	}
	return nil
}
