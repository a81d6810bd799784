package pipeline

import (
	"path/filepath"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/assets"
)

// PluginCache is the directory of first-party and built plugins:
// <assets.CacheDir()>/plugins, where `make plugins` and `pipe plugin build
// DIR` write them.
func PluginCache() string { return filepath.Join(assets.CacheDir(), "plugins") }

// FirstPartyPlugin is the one rule for a plugin reference (a [[plugin]]
// path or name, `pipe report --format NAME`): a bare name — no separator,
// no .wasm suffix — names <PluginCache()>/<ref>.wasm and returns true; any
// other reference is a path, returned as it is with false.
func FirstPartyPlugin(ref string) (string, bool) {
	if ref == "" || strings.ContainsRune(ref, '/') || strings.HasSuffix(ref, ".wasm") {
		return ref, false
	}
	return filepath.Join(PluginCache(), ref+".wasm"), true
}
