// Package golden compares rendered output — reports, CLI transcripts, plugin
// output — with files under the calling package's testdata/ directory, and
// rewrites them when the test binary runs with -update. It is the one place
// that flag is defined: a package that imports golden gets it.
//
// It takes a stand on reviewability: a mismatch leaves the new output beside
// the golden file as NAME.got (git-ignored), so a reviewer can diff the two
// whole files, and the test log shows the start of the difference.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ from the current output")

// Updating reports whether the test binary runs with -update.
func Updating() bool { return *update }

// maxDiff bounds the difference printed in the test log.
const maxDiff = 8 << 10

// Check compares got with testdata/name, or writes it there with -update.
func Check(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(path + ".got")
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if bytes.Equal(want, got) {
		os.Remove(path + ".got")
		return
	}
	_ = os.WriteFile(path+".got", got, 0o644)
	diff := cmp.Diff(string(want), string(got))
	if len(diff) > maxDiff {
		diff = diff[:maxDiff] + "\n… (cut; compare the files)"
	}
	t.Errorf("%s differs; the new output is in %s.got (-want +got; go test -update accepts it):\n%s", path, path, diff)
}
