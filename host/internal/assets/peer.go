package assets

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// llama.cpp, the peer `pipe bench --peer llama.cpp` times beside pipe, is an
// optional asset: fetched on first use, never by `pipe setup`. Its prebuilt
// CPU libraries come from node-llama-cpp's binary package, its headers from
// the llama.cpp source bundle in node-llama-cpp itself (both at one version,
// built from llama.cpp tag LlamaCppTag), through `npm pack` as every asset.
const (
	LlamaCppLibPackage = "@node-llama-cpp/linux-x64"
	LlamaCppSrcPackage = "node-llama-cpp"
	LlamaCppVersion    = "3.22.1"
	LlamaCppTag        = "v0.5.0" // node-llama-cpp's llama/llama.cpp.info.json
	llamaCppBundle     = "package/llama/gitRelease.bundle"
)

// llamaCppLibs are the libraries taken from the binary package with their
// SHA-256: libllama, ggml, and ggml's CPU backends, one per instruction-set
// level (ggml_backend_load_all_from_path picks the best this CPU runs).
var llamaCppLibs = map[string]string{
	"libllama.v0.5.0.so":            "2ecd1d85f68456573a664106a9039366b88231579fd65d9669c9a6ab41374fd4",
	"libggml.v0.5.0.so":             "41cd5e6ad78b9f0af31a6f80d637d3168e75ff84db14c495de4d3d9c95607444",
	"libggml-base.so":               "6c342c8aeb20cb31a18099d6f79de4de6703814d1cfd5c4d754a8643087e486e",
	"libggml-cpu-alderlake.so":      "6527efda35405a0d91574aced4a7766db9bb0494ab6458c83fe9eba755eb76f7",
	"libggml-cpu-cannonlake.so":     "44285a67a31a81a036a70c565d391b31145d835044c03c76cfaa2f90a9d57d42",
	"libggml-cpu-cascadelake.so":    "97cace813fbf7b7a07c4793f6a75b8b2d3de256430620f0be4a15bd4372468ea",
	"libggml-cpu-cooperlake.so":     "5eda284fd8986d550e21623b269dd31d02c07fc70121d3099609d5dde6b6847e",
	"libggml-cpu-haswell.so":        "ddaa96012769f0e86e8670cca374243751880bea2c2d0a4413b3a1b7a29dca74",
	"libggml-cpu-icelake.so":        "9b9c24aaa775fd38a6e1ff082549e50d4138d29f2e2883630b28ab70704ed896",
	"libggml-cpu-ivybridge.so":      "91b27ab81df92b8429c8e3441a8861014d3aec1424f90885a628fd0d4567532f",
	"libggml-cpu-piledriver.so":     "2cb5b2101f5bbefa2416ec7f8b6c6acb177d04f0157989c5d92e4c07750fd3f8",
	"libggml-cpu-sandybridge.so":    "bce17565033835dfb59fae2ed712d4c35e56463c2d49ea61ca08e6e2908bdfd6",
	"libggml-cpu-sapphirerapids.so": "e3d4840632b2242655e1721c6b93ec0370406dded9074accfe90bcfb67bd30b8",
	"libggml-cpu-skylakex.so":       "df30b40a957175cd8e462e8838632dc51e3be7570b27b9526cb7a044263aeab3",
	"libggml-cpu-sse42.so":          "ec65053445506965db5dd9382d7ede084ba639edc55f77aaf73581c778969e02",
	"libggml-cpu-x64.so":            "1174c3c3e0b8722313df561d7ef5ece516a070732cec9b8ddda3667c0b959728",
	"libggml-cpu-zen4.so":           "d84208de33fdadb8921a1a1a34342f5eceb1e58b83648be68050f7557312bd3e",
	"LICENSE":                       "c34e5ffca98ede216da5157cff6df2ee6762a48d3391797edb6593df24849501",
	"gitRelease.bundle":             "5f5d1105d5df040738d87b8290e5d17e7362131cdcfdb0831618e0ea528b4a51",
}

// LlamaCppFiles is where the fetched peer lies.
type LlamaCppFiles struct {
	Lib     string // libllama.v0.5.0.so and ggml's libraries
	Include string // llama.h, ggml*.h, gguf.h
}

// LlamaCppDir is the peer's directory in the cache.
func LlamaCppDir() string {
	return filepath.Join(CacheDir(), "peer", "llama.cpp", LlamaCppVersion)
}

// LlamaCppLink are the libraries a program of llama.h's API links (gcc's
// -l:NAME): libllama, and ggml's for the ggml_* calls.
var LlamaCppLink = []string{"libllama.v0.5.0.so", "libggml.v0.5.0.so", "libggml-base.so"}

// LlamaCpp returns the peer's files, fetching what is missing first
// (about 46 MB of npm tarballs, once; the headers need git to read the
// source bundle). Progress goes to log.
func LlamaCpp(log io.Writer) (LlamaCppFiles, error) {
	dir := LlamaCppDir()
	f := LlamaCppFiles{Lib: filepath.Join(dir, "lib"), Include: filepath.Join(dir, "include")}
	libsPresent := true
	for name := range llamaCppLibs {
		if name != "gitRelease.bundle" && !fileExists(filepath.Join(f.Lib, name)) {
			libsPresent = false
		}
	}
	if !libsPresent {
		members := map[string]string{"package/LICENSE": filepath.Join(f.Lib, "LICENSE")}
		for name := range llamaCppLibs {
			if strings.HasSuffix(name, ".so") {
				members["package/bins/linux-x64/"+name] = filepath.Join(f.Lib, name)
			}
		}
		if err := npmExtract(LlamaCppLibPackage, LlamaCppVersion, members, llamaCppLibs, log); err != nil {
			return f, fmt.Errorf("fetching llama.cpp: %w", err)
		}
	}
	if !fileExists(filepath.Join(f.Include, "llama.h")) {
		if err := llamaCppHeaders(f.Include, log); err != nil {
			return f, fmt.Errorf("fetching llama.cpp's headers: %w", err)
		}
	}
	return f, nil
}

// llamaCppHeaders takes the headers from the llama.cpp source bundle in
// node-llama-cpp (a git bundle of the tag its binaries were built from):
// include/*.h and ggml/include/*.h, into dst.
func llamaCppHeaders(dst string, log io.Writer) error {
	git, err := exec.LookPath("git")
	if err != nil {
		return fmt.Errorf("git not found: install it (apt-get install git) to read llama.cpp's headers from %s@%s's source bundle", LlamaCppSrcPackage, LlamaCppVersion)
	}
	tmp, err := os.MkdirTemp("", "pipe-llama-cpp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bundle := filepath.Join(tmp, "gitRelease.bundle")
	if err := npmExtract(LlamaCppSrcPackage, LlamaCppVersion, map[string]string{llamaCppBundle: bundle}, llamaCppLibs, log); err != nil {
		return err
	}
	fmt.Fprintf(log, "reading llama.cpp %s's headers from the bundle with git\n", LlamaCppTag)
	repo := filepath.Join(tmp, "src.git")
	if out, err := exec.Command(git, "clone", "--quiet", "--bare", bundle, repo).CombinedOutput(); err != nil {
		return fmt.Errorf("git clone %s: %v: %s", bundle, err, strings.TrimSpace(string(out)))
	}
	var stderr bytes.Buffer
	cmd := exec.Command(git, "--git-dir", repo, "archive", "--format=tar", "HEAD", "include", "ggml/include")
	cmd.Stderr = &stderr
	tarball, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("git archive: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	tr := tar.NewReader(bytes.NewReader(tarball))
	n := 0
	var llamaH []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".h") {
			continue
		}
		// llama.h marks a complete set (LlamaCpp looks for it): held, and
		// written after every other header.
		if h.Name == "include/llama.h" {
			if llamaH, err = io.ReadAll(tr); err != nil {
				return err
			}
			continue
		}
		if err := writeAtomic(filepath.Join(dst, filepath.Base(h.Name)), tr, ""); err != nil {
			return err
		}
		n++
	}
	if llamaH == nil {
		return fmt.Errorf("the source bundle has no include/llama.h (%d other headers)", n)
	}
	return writeAtomic(filepath.Join(dst, "llama.h"), bytes.NewReader(llamaH), "")
}
