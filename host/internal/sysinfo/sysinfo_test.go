package sysinfo

import (
	"testing"
	"time"
)

// TestStealApartFromForeign: /proc/stat's steal column (the 8th number)
// is the hypervisor's, not other processes'. Before issue 9 it was summed
// into the busy time and so reported as foreign CPU.
func TestStealApartFromForeign(t *testing.T) {
	for _, tt := range []struct {
		line        string
		busy, steal int64
		ok          bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{"cpu  100 2 50 1000 10 5 3 40 7 1", 160, 40, true},
		{"cpu  100 2 50 1000 10 5 3", 160, 0, true}, // no steal column (before Linux 2.6.11)
		{"cpu0 1 2 3 4 5 6 7 8", 0, 0, false},
		{"cpu  1 2 3 4 5 6 7 8", 1 + 2 + 3 + 6 + 7, 8, true},
	} {
		busy, steal, ok := parseCPULine(tt.line)
		if busy != tt.busy || steal != tt.steal || ok != tt.ok {
			t.Errorf("parseCPULine(%q) = %d, %d, %v; want %d, %d, %v", tt.line, busy, steal, ok, tt.busy, tt.steal, tt.ok)
		}
	}
}

func TestInterference(t *testing.T) {
	for _, tt := range []struct {
		foreign, steal float64
		want           string
	}{
		{0.02, 0, "cause not measured (other processes 0.02 cores, steal 0.00 cores)"},
		{0.8, 0.01, "other processes used 0.80 cores during the case"},
		{0.1, 0.31, "the hypervisor stole 0.31 cores (steal time)"},
		{0.5, 0.5, "other processes used 0.50 cores during the case; the hypervisor stole 0.50 cores (steal time)"},
	} {
		if got := Interference(tt.foreign, tt.steal); got != tt.want {
			t.Errorf("Interference(%v, %v) = %q, want %q", tt.foreign, tt.steal, got, tt.want)
		}
	}
}

// TestMonitorMeasures reads the real /proc over a short interval: every
// figure is a finite number of cores, none negative.
func TestMonitorMeasures(t *testing.T) {
	m := StartMonitor()
	time.Sleep(20 * time.Millisecond)
	u := m.StopUsage()
	if u.ForeignCores < 0 || u.StealCores < 0 || u.LoadMean < 0 {
		t.Errorf("usage %+v has a negative figure", u)
	}
}
