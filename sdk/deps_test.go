package sdk_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSDKLinksNoHost holds the SDK to its stance: what a plugin imports
// (sdk, sdk/sdktest and what they import) links only the standard library
// and pipe's sdk packages, for GOOS=wasip1 as for the host — no host/
// package and no statistics library (gonum, x/perf, go-moremath), which
// would cost every plugin's .wasm their size.
func TestSDKLinksNoHost(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("go not on PATH: the test lists the SDK's dependencies with go list")
	}
	for _, goos := range []string{"wasip1", ""} {
		cmd := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".", "./sdktest")
		if goos != "" {
			cmd.Env = append(cmd.Environ(), "GOOS="+goos, "GOARCH=wasm", "CGO_ENABLED=0")
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list (GOOS=%s): %v\n%s", goos, err, out)
		}
		for _, pkg := range strings.Fields(string(out)) {
			if pkg != "github.com/pipe-bench/pipe/sdk" && !strings.HasPrefix(pkg, "github.com/pipe-bench/pipe/sdk/") {
				t.Errorf("GOOS=%s: the SDK links %s; it may link only the standard library and pipe's sdk packages", goos, pkg)
			}
		}
	}
}
