package measure

import (
	"errors"
	"strings"
	"testing"
)

// TestGPUNoDevice: where NVML or the device is missing the error is one line
// that wraps ErrNoNVML; on a machine with a GPU, a device index past the
// last fails the same way, naming the valid range.
func TestGPUNoDevice(t *testing.T) {
	g, err := OpenGPU(0)
	index := 0
	if err == nil {
		g.Close()
		index = 1 << 20
		_, err = OpenGPU(index)
	}
	if err == nil {
		t.Fatalf("OpenGPU(%d): no error", index)
	}
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrNoNVML) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q: want one line wrapping ErrNoNVML", err)
	}
}

// TestGPUSampler needs an NVIDIA driver; it skips, saying so, elsewhere.
// This test process holds no CUDA context, so NVML must not list it, and the
// sampler must say why it has no figure instead of reporting 0 bytes.
func TestGPUSampler(t *testing.T) {
	g, err := OpenGPU(0)
	if err != nil {
		t.Skipf("no GPU here: %v", err)
	}
	defer g.Close()
	if g.Name == "" || g.Total <= 0 {
		t.Errorf("device name %q, total %d bytes: want both", g.Name, g.Total)
	}
	if _, found, err := g.ProcessBytes(); err != nil || found {
		t.Errorf("ProcessBytes() found %v, err %v: a process without a CUDA context is not listed", found, err)
	}
	s := StartGPUSampler(g, 0)
	peak, err := s.Stop()
	if err == nil || peak != 0 || !strings.Contains(err.Error(), "does not list process") {
		t.Errorf("Stop() = %d, %v: want 0 and the reason", peak, err)
	}
}
