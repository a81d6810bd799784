// Package tailbuf keeps the end of a child's output: an io.Writer that holds
// at most Max bytes, the most recent ones, so that a plugin's or a peer's
// stderr can name what went wrong in one line without growing without bound.
package tailbuf

import (
	"bytes"
	"sync"
)

// Buffer keeps the last Max bytes written to it. It is safe for concurrent
// use (a child's stderr is copied by a goroutine of os/exec).
type Buffer struct {
	Max int
	mu  sync.Mutex
	b   []byte
}

func (t *Buffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.Max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

// String returns what is kept.
func (t *Buffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// LastLine returns the last non-empty line kept ("" when none).
func (t *Buffer) LastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := bytes.Split(bytes.TrimSpace(t.b), []byte("\n"))
	return string(lines[len(lines)-1])
}

// Reset forgets what is kept.
func (t *Buffer) Reset() {
	t.mu.Lock()
	t.b = t.b[:0]
	t.mu.Unlock()
}
