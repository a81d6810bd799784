package llamacpp

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/assets"
	"github.com/pipe-bench/pipe/host/internal/gguf"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/tokenize"
)

//go:embed driver/driver.c
var driverSource []byte

// Options says which llama.cpp engines Open starts.
type Options struct {
	Config     model.Config // the GPT-2 pipe runs (model.GPT2())
	Seed       uint64       // its weight seed
	Precisions []gguf.Type  // one engine each, in this order
	Threads    int          // llama.cpp's n_threads and n_threads_batch
	MaxContext int          // the longest prompt plus its new tokens
	Log        io.Writer    // progress (fetching, writing GGUFs, the check)
}

// Open fetches llama.cpp (once), builds the driver (once), writes pipe's
// GPT-2 as GGUF at each precision (once per seed and precision) and starts
// one engine per precision. The f32 engine, or an f32 one started for the
// purpose, is checked against pipe's reference forward pass first (Check).
func Open(o Options) (engines []*Engine, err error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if len(o.Precisions) == 0 {
		return nil, fmt.Errorf("--peer-precisions: name at least one of f32, f16, q8_0")
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return nil, fmt.Errorf("--peer llama.cpp: gcc not found: install it (apt-get install gcc) so pipe can build its llama.cpp driver")
	}
	files, err := assets.LlamaCpp(o.Log)
	if err != nil {
		return nil, fmt.Errorf("--peer llama.cpp: %w", err)
	}
	driver, err := buildDriver(gcc, files)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			for _, e := range engines {
				e.Close()
			}
			engines = nil
		}
	}()
	c := o.Config
	nCtx := o.MaxContext
	if nCtx < 1 || (c.MaxPositions > 0 && nCtx > c.MaxPositions) {
		nCtx = c.MaxPositions
	}
	var ref []float32 // pipe's reference logits at the check prompt, computed once
	for _, typ := range o.Precisions {
		path, tensors, err := GPT2File(c, o.Seed, typ, o.Log)
		if err != nil {
			return engines, err
		}
		fmt.Fprintf(o.Log, "starting llama.cpp %s on %s\n", typ, path)
		e, err := open(driver, files.Lib, path, typ, o.Threads, nCtx, gguf.GPT2WeightBytesPerToken(tensors), 0)
		if err != nil {
			return engines, err
		}
		e.info.Package = assets.LlamaCppLibPackage + "@" + assets.LlamaCppVersion
		e.info.Tag = assets.LlamaCppTag
		if e.kvPerPos, err = kvBytesPerPosition(e.info.KVType, c); err != nil {
			return append(engines, e), err
		}
		engines = append(engines, e)
		if ref == nil {
			fmt.Fprintf(o.Log, "computing pipe's reference logits (plain Go, float64) for the check\n")
			all := model.ReferenceLogits(c, o.Seed, checkIDs(c))
			ref = all[len(all)-1]
		}
		if err := Check(e, checkIDs(c), ref, o.Log); err != nil {
			return engines, err
		}
	}
	return engines, nil
}

// kvBytesPerPosition is one position's KV cache (keys and values of every
// layer) in llama.cpp's cache type, sized as the GGUF types are (gguf.Type.Bytes).
func kvBytesPerPosition(kvType string, c model.Config) (int64, error) {
	t, err := gguf.ParseType(kvType)
	if err != nil {
		return 0, fmt.Errorf("llama.cpp's KV cache type: %w", err)
	}
	return t.Bytes(2 * int64(c.Layers) * int64(c.KVHeads*c.HeadDim))
}

// checkPrompt is the prompt Check compares logits at.
const checkPrompt = 8

// checkTolerance bounds Check's max |Δlogit| per precision: f32 differs from
// the float64 reference by summation order and the f16 KV cache; f16 and
// q8_0 weights by their rounding. A mistranslated GGUF (a transposed matrix,
// a wrong name) is off by the logits' own scale, ≈ 1.
var checkTolerance = map[gguf.Type]float64{gguf.F32: 0.02, gguf.F16: 0.05, gguf.Q8_0: 0.25}

// checkIDs is the prompt Check compares logits at: seeded ids, as bench's.
func checkIDs(c model.Config) []int64 { return tokenize.SeededIDs(checkPrompt, c.Vocab, 1) }

// Check compares e's last-position logits after prompt with want, pipe's
// plain-Go reference forward pass of the same GPT-2 (model.ReferenceLogits),
// and records the largest |Δ|; beyond checkTolerance the GGUF is not the
// model pipe runs, and Check says so in one line.
func Check(e *Engine, prompt []int64, want []float32, log io.Writer) error {
	got, err := e.Logits(prompt)
	if err != nil {
		return err
	}
	if len(got) != len(want) {
		return fmt.Errorf("llama.cpp %s: %d logits, pipe's model has %d", e.precision, len(got), len(want))
	}
	var d float64
	for i := range got {
		d = max(d, math.Abs(float64(got[i])-float64(want[i])))
	}
	e.info.MaxAbsLogitDiff = d
	fmt.Fprintf(log, "llama.cpp %s: max |Δlogit| %.2g against pipe's reference forward pass (%d-token prompt)\n", e.precision, d, checkPrompt)
	if tol := checkTolerance[e.precision]; !(d <= tol) {
		return fmt.Errorf("llama.cpp %s on %s: logits differ from pipe's reference by up to %.3g (> %.3g): the GGUF is not pipe's model; delete it and report the writer's bug", e.precision, e.info.GGUF, d, tol)
	}
	return nil
}

// buildDriver compiles driver.c against the fetched headers and libllama
// into the peer's cache directory, once per driver source.
func buildDriver(gcc string, f assets.LlamaCppFiles) (string, error) {
	sum := sha256.Sum256(driverSource)
	out := filepath.Join(assets.LlamaCppDir(), "driver-"+hex.EncodeToString(sum[:4]))
	if st, err := os.Stat(out); err == nil && st.Mode().IsRegular() {
		return out, nil
	}
	tmp, err := os.MkdirTemp(assets.LlamaCppDir(), ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "driver.c")
	if err := os.WriteFile(src, driverSource, 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(tmp, "driver")
	args := []string{"-O2", "-std=c11", "-o", bin, src, "-I", f.Include, "-L", f.Lib, "-Wl,-rpath," + f.Lib}
	for _, l := range assets.LlamaCppLink {
		args = append(args, "-l:"+l)
	}
	args = append(args, "-ldl") // dladdr, dlopen (in libc since glibc 2.34)
	cmd := exec.Command(gcc, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		first := strings.TrimSpace(string(b))
		if i := strings.IndexByte(first, '\n'); i >= 0 {
			first = first[:i]
		}
		return "", fmt.Errorf("--peer llama.cpp: building the driver with gcc: %v: %s (delete %s to fetch llama.cpp again)", err, first, assets.LlamaCppDir())
	}
	return out, os.Rename(bin, out)
}

// GPT2File is pipe's GPT-2 (c, seed) written as GGUF at matrix type t in the
// peer's cache, written first when missing (atomically), and its tensors.
func GPT2File(c model.Config, seed uint64, t gguf.Type, log io.Writer) (string, []gguf.Tensor, error) {
	tensors, err := gguf.GPT2Tensors(c, t)
	if err != nil {
		return "", nil, err
	}
	key, _ := json.Marshal(struct {
		C       model.Config
		Builder int
		Writer  int
	}{c, model.BuilderVersion, writerVersion})
	sum := sha256.Sum256(key)
	dir := filepath.Join(assets.CacheDir(), "peer", "gguf")
	path := filepath.Join(dir, fmt.Sprintf("gpt2-s%d-%s-%s.gguf", seed, t, hex.EncodeToString(sum[:4])))
	if _, err := os.Stat(path); err == nil {
		return path, tensors, nil
	}
	tok, err := assets.GPT2Tokenizer()
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	fmt.Fprintf(log, "writing pipe's gpt2 (seed %d) as GGUF %s to %s\n", seed, t, path)
	tmp, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return "", nil, err
	}
	defer os.Remove(tmp.Name())
	err = gguf.WriteGPT2(tmp, gguf.GPT2Options{Config: c, Seed: seed, Type: t, TokenizerDir: tok})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		return "", nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return path, tensors, os.Rename(tmp.Name(), path)
}

// writerVersion is part of the GGUF cache key: bump it when what
// gguf.WriteGPT2 writes for the same weights changes.
const writerVersion = 1
