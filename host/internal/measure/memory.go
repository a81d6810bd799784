package measure

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Memory is read from /proc/self: per process, never system-wide.

var pageSize = int64(os.Getpagesize())

// RSS returns this process's resident set size in bytes (from
// /proc/self/statm, one small read), or 0 where /proc is missing.
func RSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(string(f[1]), 10, 64)
	return pages * pageSize
}

// HWM returns the process's peak RSS (VmHWM) in bytes since start or the
// last ResetPeak.
func HWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	i := bytes.Index(b, []byte("VmHWM:"))
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+len("VmHWM:"):])
	if len(f) < 1 {
		return 0
	}
	kb, _ := strconv.ParseInt(string(f[0]), 10, 64)
	return kb << 10
}

// ResetPeak resets VmHWM to the current RSS (Linux ≥ 4.0, clear_refs 5),
// so HWM after a run is that run's peak. It reports whether it worked.
func ResetPeak() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// RSSPoint is one sample of the series.
type RSSPoint struct {
	AtMS  float64 `json:"at_ms"`
	Bytes int64   `json:"bytes"`
}

// Sampler measures a window's peak RSS. Where VmHWM can be reset (Linux ≥
// 4.0) the kernel's high-water mark, reset at Start and read at Stop, is the
// peak, exact to the page, and nothing runs in between: a polling goroutine
// would add nothing to it but wake-ups inside the timed run (each 10 ms tick
// cost 4–6 context switches of this process, doubling them during a GPT-2
// decode, and on a small machine each can preempt a runtime worker that the
// others wait for; RATIONALE.md, "The harness must not move what it
// measures"). Elsewhere, or when the series is kept for plotting, it samples
// RSS in a goroutine at a fixed interval and keeps the peak.
type Sampler struct {
	keep     bool
	start    time.Time
	peak     atomic.Int64
	poll     *poller
	mu       sync.Mutex
	series   []RSSPoint
	hwmReset bool
	samples  atomic.Int64 // RSS reads taken, for tests
}

// StartSampler starts measuring. It polls every interval (0 means 10 ms)
// only where VmHWM cannot be reset or keepSeries asks for the samples, which
// are then kept for plotting; otherwise it samples once now and once at Stop.
func StartSampler(interval time.Duration, keepSeries bool) *Sampler {
	if interval <= 0 {
		interval = 10 * time.Millisecond
	}
	s := &Sampler{keep: keepSeries, start: time.Now()}
	s.hwmReset = ResetPeak()
	if s.hwmReset && !keepSeries {
		s.sample()
		return s
	}
	s.poll = startPoller(interval, s.sample)
	return s
}

func (s *Sampler) sample() {
	s.samples.Add(1)
	v := RSS()
	raisePeak(&s.peak, v)
	if s.keep {
		s.mu.Lock()
		s.series = append(s.series, RSSPoint{AtMS: float64(time.Since(s.start)) / 1e6, Bytes: v})
		s.mu.Unlock()
	}
}

// Stop ends sampling and returns the peak RSS in bytes (the larger of the
// sampled peak and VmHWM when VmHWM was reset at start) and the series.
func (s *Sampler) Stop() (peak int64, series []RSSPoint) {
	if s.poll != nil {
		s.poll.stop()
	} else {
		s.sample()
	}
	peak = s.peak.Load()
	if s.hwmReset {
		peak = max(peak, HWM())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return peak, s.series
}
