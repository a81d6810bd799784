// Package sysinfo describes the machine a benchmark ran on and watches the
// load that other processes put on it. It takes a stand on noise: the usual
// cause of a wide confidence interval is someone else's work on the same
// cores, so pipe measures the CPU time of every other process during each
// case (from /proc/stat minus its own) and reports it beside the figures.
package sysinfo

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pipe-bench/pipe/host/result"
)

// Collect returns the static description of the machine and process.
func Collect() result.Env {
	e := result.Env{
		OS:        runtime.GOOS + "/" + runtime.GOARCH,
		Cores:     runtime.NumCPU(),
		GoVersion: runtime.Version(),
		CPUModel:  cpuModel(),
		Governor:  strings.TrimSpace(readString("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")),
		Kernel:    strings.TrimSpace(readString("/proc/sys/kernel/osrelease")),
		MemTotal:  memTotal(),
	}
	e.Hostname, _ = os.Hostname()
	if pretty := osRelease(); pretty != "" {
		e.OS = pretty + " (" + e.OS + ")"
	}
	e.LoadBefore = LoadAvg1()
	return e
}

func readString(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func cpuModel() string {
	for _, line := range strings.Split(readString("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotal() int64 {
	for _, line := range strings.Split(readString("/proc/meminfo"), "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

func osRelease() string {
	for _, line := range strings.Split(readString("/etc/os-release"), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// LoadAvg1 returns the 1-minute load average, or 0.
func LoadAvg1() float64 {
	f := strings.Fields(readString("/proc/loadavg"))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// cpuTimes returns the machine's busy jiffies (all CPUs) and this
// process's own jiffies (utime + stime, all threads).
func cpuTimes() (busy, self int64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() {
		return 0, 0, false
	}
	f := strings.Fields(sc.Text()) // cpu user nice system idle iowait irq softirq steal …
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0, false
	}
	for i, s := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already counted in user
			break
		}
		v, _ := strconv.ParseInt(s, 10, 64)
		busy += v
	}
	st, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, false
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line.
	rest := st[bytes.LastIndexByte(st, ')')+2:]
	g := strings.Fields(string(rest))
	if len(g) < 13 {
		return 0, 0, false
	}
	u, _ := strconv.ParseInt(g[11], 10, 64)
	s, _ := strconv.ParseInt(g[12], 10, 64)
	return busy, u + s, true
}

const clkTck = 100 // USER_HZ on Linux

// Monitor measures other processes' CPU use and the load average over an
// interval of the benchmark.
type Monitor struct {
	start        time.Time
	busy0, self0 int64
	ok           bool
	stop         chan struct{}
	wg           sync.WaitGroup
	mu           sync.Mutex
	loadSum      float64
	loadN        int
}

// StartMonitor begins an interval; it samples the load average every second.
func StartMonitor() *Monitor {
	m := &Monitor{start: time.Now(), stop: make(chan struct{})}
	m.busy0, m.self0, m.ok = cpuTimes()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			m.mu.Lock()
			m.loadSum += LoadAvg1()
			m.loadN++
			m.mu.Unlock()
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// Stop ends the interval and returns other processes' mean CPU use in
// cores, and the mean 1-minute load average sampled during it.
func (m *Monitor) Stop() (foreignCores, loadMean float64) {
	close(m.stop)
	m.wg.Wait()
	m.mu.Lock()
	if m.loadN > 0 {
		loadMean = m.loadSum / float64(m.loadN)
	}
	m.mu.Unlock()
	busy1, self1, ok := cpuTimes()
	secs := time.Since(m.start).Seconds()
	if !ok || !m.ok || secs <= 0 {
		return 0, loadMean
	}
	foreign := float64((busy1-m.busy0)-(self1-m.self0)) / clkTck / secs
	return max(foreign, 0), loadMean
}
