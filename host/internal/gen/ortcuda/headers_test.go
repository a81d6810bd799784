package ortcuda

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVendoredHeadersMatchModule keeps third_party/onnxruntime/include equal
// to the headers of the onnxruntime_go module that go.mod requires, so an
// upgrade of the module cannot leave this package compiling against an older
// C API than the library onnxruntime_go loads.
func TestVendoredHeadersMatchModule(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yalue/onnxruntime_go").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/yalue/onnxruntime_go: %v", err)
	}
	modDir := strings.TrimSpace(string(out))
	if modDir == "" {
		t.Fatal("go list -m printed no directory for github.com/yalue/onnxruntime_go (run go mod download)")
	}
	for _, name := range []string{"onnxruntime_c_api.h", "onnxruntime_ep_c_api.h"} {
		vendored, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "third_party", "onnxruntime", "include", name))
		if err != nil {
			t.Fatal(err)
		}
		upstream, err := os.ReadFile(filepath.Join(modDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(vendored, upstream) {
			t.Errorf("third_party/onnxruntime/include/%s differs from %s: copy the module's header there", name, filepath.Join(modDir, name))
		}
	}
}
