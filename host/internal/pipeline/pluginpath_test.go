package pipeline

import (
	"path/filepath"
	"testing"
)

// TestFirstPartyPlugin: a bare name is a plugin of the cache, anything
// that looks like a path is that path.
func TestFirstPartyPlugin(t *testing.T) {
	for ref, want := range map[string]struct {
		path  string
		cache bool
	}{
		"junit":               {filepath.Join(PluginCache(), "junit.wasm"), true},
		"prefill_share":       {filepath.Join(PluginCache(), "prefill_share.wasm"), true},
		"./junit":             {"./junit", false},
		"plugins/junit.wasm":  {"plugins/junit.wasm", false},
		"junit.wasm":          {"junit.wasm", false},
		"/abs/dir/junit.wasm": {"/abs/dir/junit.wasm", false},
		"":                    {"", false},
	} {
		if path, cache := FirstPartyPlugin(ref); path != want.path || cache != want.cache {
			t.Errorf("FirstPartyPlugin(%q) = %q, %v, want %q, %v", ref, path, cache, want.path, want.cache)
		}
	}
}
