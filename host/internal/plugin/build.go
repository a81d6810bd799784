package plugin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
)

// DefaultBuildPath is where `pipe plugin build DIR` writes DIR's plugin:
// <pipeline.PluginCache()>/<base name of DIR>.wasm, where a pipeline's bare
// plugin name is looked up (pipeline.FirstPartyPlugin).
func DefaultBuildPath(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return filepath.Join(pipeline.PluginCache(), filepath.Base(abs)+".wasm")
}

// BuildEnv is the environment a plugin builds in, on top of the caller's.
var BuildEnv = []string{"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0"}

// BuildFlags are go build's flags for a plugin: a WASI reactor, no local
// paths, and no symbol table or DWARF (-s -w: a plugin's panics still name
// their functions, from the pclntab; the debug sections only cost size).
var BuildFlags = []string{"-buildmode=c-shared", "-trimpath", "-ldflags=-s -w"}

// Build compiles the plugin in dir (a package main) to out with the
// standard Go toolchain as a WASI reactor: GOOS=wasip1 GOARCH=wasm go build
// BuildFlags. It is incremental: a key over the Go version, BuildEnv,
// BuildFlags and every non-standard source file the package depends on (from
// `go list -deps`) is kept beside out, and an unchanged key skips the
// build. It reports whether it built.
func Build(ctx context.Context, dir, out string) (built bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
		return false, fmt.Errorf("plugin build %s: no main.go: a plugin is a package main that calls sdk.Register from init(); scaffold one with `pipe plugin new NAME`", dir)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return false, errors.New("plugin build: the go command is not on PATH: plugins build with the standard Go toolchain (1.24 or later)")
	}
	key, err := buildKey(ctx, goTool, dir)
	if err != nil {
		return false, err
	}
	stamp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".key")
	if old, err := os.ReadFile(stamp); err == nil && string(old) == key {
		if _, err := os.Stat(out); err == nil {
			return false, nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return false, fmt.Errorf("plugin build %s: %w", dir, err)
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return false, err
	}
	f, err := os.CreateTemp(filepath.Dir(absOut), "."+filepath.Base(absOut)+".*.tmp") // concurrent builds of one plugin must not share it
	if err != nil {
		return false, fmt.Errorf("plugin build %s: %w", dir, err)
	}
	tmp := f.Name()
	f.Close()
	cmd := exec.CommandContext(ctx, goTool, append(append([]string{"build"}, BuildFlags...), "-o", tmp, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), BuildEnv...)
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("plugin build %s: go build failed: %s", dir, oneLine(msg.String(), err))
	}
	if err := os.Rename(tmp, absOut); err != nil {
		return false, fmt.Errorf("plugin build %s: %w", dir, err)
	}
	if err := os.WriteFile(stamp, []byte(key), 0o644); err != nil {
		return true, fmt.Errorf("plugin build %s: %w", dir, err)
	}
	return true, nil
}

// buildKey hashes the Go version, the build settings and the content of
// every non-standard file (sources, embeds, go.mod) the package uses.
func buildKey(ctx context.Context, goTool, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, goTool, "list", "-deps",
		"-f", `{{if not .Standard}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{if .Module}}{{.Module.GoMod}}
{{end}}{{end}}`, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), BuildEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	list, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("plugin build %s: go list failed: %s", dir, oneLine(stderr.String(), err))
	}
	ver, err := exec.CommandContext(ctx, goTool, "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("plugin build %s: go env GOVERSION: %v", dir, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s\n", strings.TrimSpace(string(ver)), strings.Join(BuildEnv, ","), strings.Join(BuildFlags, " "))
	seen := map[string]bool{}
	for _, f := range strings.Split(string(list), "\n") {
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		fh, err := os.Open(f)
		if err != nil {
			continue // a go.mod of a module in the module cache may be absent; its sum pins it
		}
		fmt.Fprintf(h, "%s\n", f)
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", err
		}
	}
	if sum, err := os.ReadFile(filepath.Join(dir, "go.sum")); err == nil {
		h.Write(sum)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// oneLine squeezes a tool's output into one line for an error message.
func oneLine(out string, err error) string {
	out = strings.TrimSpace(out)
	if out == "" {
		return err.Error()
	}
	lines := strings.Split(out, "\n")
	var keep []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			keep = append(keep, l)
		}
	}
	if len(keep) > 3 {
		keep = append(keep[:3], fmt.Sprintf("(%d more lines)", len(keep)-3))
	}
	return strings.Join(keep, "; ")
}
