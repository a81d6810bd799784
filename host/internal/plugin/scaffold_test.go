package plugin

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestVendoredSDKIsTheSource holds the SDK that `pipe plugin new` vendors
// (from sdk.Source, embedded in the binary) to the SDK on disk: every
// non-test Go file of every SDK package, byte for byte, and no other file.
func TestVendoredSDKIsTheSource(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	if _, err := Scaffold(dir, "p", "metric"); err != nil {
		t.Fatal(err)
	}
	for _, pkg := range sdkPackages {
		src := filepath.Join("..", "..", "..", filepath.FromSlash(pkg))
		vendored := filepath.Join(dir, "vendor", filepath.FromSlash(ModulePath), filepath.FromSlash(pkg))
		want := goFiles(t, src)
		if got := goFiles(t, vendored); !slices.Equal(got, want) {
			t.Errorf("%s: vendored %v, the source has %v", pkg, got, want)
		}
		for _, f := range want {
			a, _ := os.ReadFile(filepath.Join(src, f))
			b, _ := os.ReadFile(filepath.Join(vendored, f))
			if !bytes.Equal(a, b) {
				t.Errorf("%s/%s: the vendored copy differs from the source", pkg, f)
			}
		}
	}
	mods, err := os.ReadFile(filepath.Join(dir, "vendor", "modules.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range sdkPackages {
		if !strings.Contains(string(mods), "\n"+ModulePath+"/"+pkg+"\n") {
			t.Errorf("vendor/modules.txt lacks %s:\n%s", pkg, mods)
		}
	}
}

// goFiles lists the non-test Go files in dir, sorted.
func goFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			out = append(out, n)
		}
	}
	return out
}

// TestVendoredSDKIsWhatPluginsImport: sdkPackages is exactly the pipe
// packages that the SDK a scaffold imports (sdk, sdk/sdktest) depends on,
// natively and for GOOS=wasip1, so a new SDK package cannot be left out of
// the vendored copy.
func TestVendoredSDKIsWhatPluginsImport(t *testing.T) {
	want := make([]string, len(sdkPackages))
	for i, p := range sdkPackages {
		want[i] = ModulePath + "/" + p
	}
	for _, env := range [][]string{nil, BuildEnv} {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ModulePath+"/sdk", ModulePath+"/sdk/sdktest")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		got := strings.Fields(string(out))
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%v: the SDK depends on %v; sdkPackages (vendored) is %v", env, got, want)
		}
	}
}
