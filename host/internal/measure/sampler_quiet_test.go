package measure

import (
	"runtime/debug"
	"testing"
	"time"
)

// TestSamplerQuietWhereHWMResets: where VmHWM can be reset, the sampler
// takes no sample between Start and Stop (nothing wakes inside the timed
// run), and its peak still holds a 200 MiB buffer that came and went in
// between, which no sample saw. Where the reset fails it must poll.
func TestSamplerQuietWhereHWMResets(t *testing.T) {
	debug.FreeOSMemory()
	s := StartSampler(time.Millisecond, false)
	before := RSS()
	func() {
		buf := make([]byte, 200<<20)
		for i := 0; i < len(buf); i += 4096 {
			buf[i] = 1
		}
		time.Sleep(30 * time.Millisecond)
		buf[0] = 2
	}()
	debug.FreeOSMemory() // the buffer's pages go back to the kernel
	peak, _ := s.Stop()
	if !s.hwmReset {
		if s.samples.Load() < 3 {
			t.Errorf("VmHWM could not be reset, yet the sampler took %d samples in 30 ms at 1 ms", s.samples.Load())
		}
		return
	}
	if n := s.samples.Load(); n != 2 {
		t.Errorf("the sampler took %d RSS samples, want 2 (Start and Stop): VmHWM is the peak, polling only wakes threads inside the run", n)
	}
	if peak < before+150<<20 {
		t.Errorf("peak %d MiB, want ≥ %d MiB: VmHWM must hold the freed 200 MiB buffer", peak>>20, (before+150<<20)>>20)
	}
}

// TestSamplerHonoursInterval: a kept series is polled at the interval the
// pipeline gave (generate.rss_interval), not silently at 10 ms.
func TestSamplerHonoursInterval(t *testing.T) {
	s := StartSampler(time.Hour, true)
	time.Sleep(50 * time.Millisecond)
	_, series := s.Stop()
	if len(series) != 2 {
		t.Errorf("%d samples in 50 ms at a 1 h interval, want 2 (start and stop)", len(series))
	}
}
