package pipeline

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestPluginNameShadowsBuiltin: a plugin may not be named like a built-in
// metric (its metrics would read as the built-in's statistics), a built-in
// metric family, or a built-in report format (the built-in would answer to
// the name and the plugin would never run). Each is one line at the
// plugin's name, naming both.
func TestPluginNameShadowsBuiltin(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PIPE_CACHE", filepath.Join(dir, "cache"))
	for _, tt := range []struct{ name, want string }{
		{"ttft_ms", `p.toml:8: plugin.0.name: plugin name "ttft_ms" is taken by the built-in metric ttft_ms: rename the plugin`},
		{"decode_tps", `p.toml:8: plugin.0.name: plugin name "decode_tps" is taken by the built-in metric decode_tps`},
		{"throughput", `p.toml:8: plugin.0.name: plugin name "throughput" is taken by the built-in metric throughput.output_tps`},
		{"md", `p.toml:8: plugin.0.name: plugin name "md" is taken by the built-in report format md: rename the plugin`},
		{"html", `plugin name "html" is taken by the built-in report format html`},
		{"json", `plugin name "json" is taken by the built-in report format json`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := minimal + "[[plugin]]\nname = \"" + tt.name + "\"\n"
			_, err := Parse(filepath.Join(dir, "p.toml"), []byte(src), LoadOptions{Names: testNames})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("problems %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := Parse(filepath.Join(dir, "p.toml"), []byte(minimal+"[[plugin]]\nname = \"goodput\"\n"), LoadOptions{Names: testNames}); err != nil {
		t.Errorf("a plugin with a free name: %v", err)
	}
}
