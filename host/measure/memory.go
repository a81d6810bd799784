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

// Sampler samples RSS in a goroutine at a fixed interval and keeps the peak.
// Combined with VmHWM (reset at Start) it catches peaks shorter than the
// interval.
type Sampler struct {
	keep     bool
	start    time.Time
	peak     atomic.Int64
	poll     *poller
	mu       sync.Mutex
	series   []RSSPoint
	hwmReset bool
}

// StartSampler starts sampling every interval (≤ 10 ms is the contract;
// 0 means 10 ms). With keepSeries the samples are kept for plotting.
func StartSampler(interval time.Duration, keepSeries bool) *Sampler {
	if interval <= 0 || interval > 10*time.Millisecond {
		interval = 10 * time.Millisecond
	}
	s := &Sampler{keep: keepSeries, start: time.Now()}
	s.hwmReset = ResetPeak()
	s.poll = startPoller(interval, s.sample)
	return s
}

func (s *Sampler) sample() {
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
	s.poll.stop()
	peak = s.peak.Load()
	if s.hwmReset {
		peak = max(peak, HWM())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return peak, s.series
}
