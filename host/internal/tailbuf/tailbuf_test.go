package tailbuf_test

import (
	"fmt"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/tailbuf"
)

func TestKeepsTheLastMaxBytes(t *testing.T) {
	b := &tailbuf.Buffer{Max: 8}
	fmt.Fprint(b, "first line\n")
	fmt.Fprint(b, "ab\ncdef\n\n")
	if got, want := b.String(), "b\ncdef\n\n"; got != want { // the last 8 bytes
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := b.LastLine(); got != "cdef" {
		t.Errorf("LastLine() = %q, want cdef", got)
	}
	b.Reset()
	if b.String() != "" || b.LastLine() != "" {
		t.Errorf("after Reset: %q / %q", b.String(), b.LastLine())
	}
}
