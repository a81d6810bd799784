package assets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteAtomicChecksum: a file whose SHA-256 is not the pinned one is
// refused and leaves nothing behind; the right one is written.
func TestWriteAtomicChecksum(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "tokenizer.json")
	const sumOfHello = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" // sha256("hello")
	err := writeAtomic(dst, strings.NewReader("hellO"), sumOfHello)
	if err == nil || !strings.Contains(err.Error(), "want "+sumOfHello) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("writeAtomic with a wrong file: %v, want a one-line SHA-256 mismatch", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a refused file left %d entries in the directory", len(entries))
	}
	if err := writeAtomic(dst, strings.NewReader("hello"), sumOfHello); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != "hello" {
		t.Fatalf("read back %q, %v", b, err)
	}
}

// TestFamilyTokenizersPinned: every family tokenizer pins a SHA-256 for each
// file it takes, so `pipe setup` can never accept another file.
func TestFamilyTokenizersPinned(t *testing.T) {
	for _, f := range FamilyTokenizers {
		for _, name := range f.Members {
			if len(f.SHA256[name]) != 64 {
				t.Errorf("%s: %s has no SHA-256", f.Name, name)
			}
		}
		if got, ok := FamilyTokenizerFor(f.Name); !ok || got.Package != f.Package {
			t.Errorf("FamilyTokenizerFor(%q) = %v, %v", f.Name, got, ok)
		}
	}
}
