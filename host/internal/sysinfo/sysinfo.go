// Package sysinfo describes the machine a benchmark ran on and watches the
// load that other processes put on it. It takes a stand on noise: the usual
// cause of a wide confidence interval is someone else's work on the same
// cores, so pipe measures the CPU time of every other process during each
// case (from /proc/stat minus its own) and, apart from it, the time the
// hypervisor stole from this virtual machine (/proc/stat's steal column),
// and reports both beside the figures. It names a cause only when one of
// them was measured (Interference).
package sysinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pipe-bench/pipe/host/internal/result"
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

// cpuTimes returns the machine's busy jiffies (all CPUs, steal left out),
// the jiffies the hypervisor stole (steal), and this process's own jiffies
// (utime + stime, all threads).
func cpuTimes() (busy, steal, self int64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() {
		return 0, 0, 0, false
	}
	busy, steal, ok = parseCPULine(sc.Text())
	if !ok {
		return 0, 0, 0, false
	}
	st, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line.
	rest := st[bytes.LastIndexByte(st, ')')+2:]
	g := strings.Fields(string(rest))
	if len(g) < 13 {
		return 0, 0, 0, false
	}
	u, _ := strconv.ParseInt(g[11], 10, 64)
	s, _ := strconv.ParseInt(g[12], 10, 64)
	return busy, steal, u + s, true
}

// parseCPULine reads /proc/stat's aggregate line, "cpu user nice system
// idle iowait irq softirq steal guest guest_nice": busy is user through
// softirq without idle and iowait (guest time is already counted in user),
// steal the time the hypervisor ran something else while this VM wanted
// the CPU. Kernels before 2.6.11 have no steal column (0).
func parseCPULine(line string) (busy, steal int64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0, false
	}
	for i, s := range f[1:] {
		v, _ := strconv.ParseInt(s, 10, 64)
		switch {
		case i == 3 || i == 4: // idle, iowait
		case i < 7:
			busy += v
		case i == 7:
			steal = v
		}
	}
	return busy, steal, true
}

const clkTck = 100 // USER_HZ on Linux

// NotableCores is the CPU, in cores, that other processes or the
// hypervisor's steal must take during a case for pipe to name it as the
// likely cause of noise.
const NotableCores = 0.25

// Interference says what was measured during a case that could explain
// noisy runs: "other processes used 0.80 cores during the case", "the
// hypervisor stole 0.31 cores (steal time)", both, or — when neither
// reached NotableCores — "cause not measured (other processes 0.02 cores,
// steal 0.00 cores)". It never guesses a cause it did not measure.
func Interference(foreignCores, stealCores float64) string {
	var parts []string
	if foreignCores >= NotableCores {
		parts = append(parts, fmt.Sprintf("other processes used %.2f cores during the case", foreignCores))
	}
	if stealCores >= NotableCores {
		parts = append(parts, fmt.Sprintf("the hypervisor stole %.2f cores (steal time)", stealCores))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("cause not measured (other processes %.2f cores, steal %.2f cores)", foreignCores, stealCores)
	}
	return strings.Join(parts, "; ")
}

// Monitor measures other processes' CPU use, the hypervisor's steal time
// and the load average over an interval of the benchmark.
type Monitor struct {
	start                time.Time
	busy0, steal0, self0 int64
	ok                   bool
	stop                 chan struct{}
	wg                   sync.WaitGroup
	mu                   sync.Mutex
	loadSum              float64
	loadN                int
}

// StartMonitor begins an interval; it samples the load average every second.
func StartMonitor() *Monitor {
	m := &Monitor{start: time.Now(), stop: make(chan struct{})}
	m.busy0, m.steal0, m.self0, m.ok = cpuTimes()
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

// Usage is what a Monitor measured over its interval.
type Usage struct {
	// ForeignCores is other processes' mean CPU use, in cores (busy time
	// minus this process's, steal left out).
	ForeignCores float64
	// StealCores is the mean CPU the hypervisor stole, in cores.
	StealCores float64
	// LoadMean is the mean 1-minute load average sampled during it.
	LoadMean float64
}

// Stop ends the interval and returns other processes' mean CPU use in
// cores, and the mean 1-minute load average sampled during it (StopUsage
// has the steal time too).
func (m *Monitor) Stop() (foreignCores, loadMean float64) {
	u := m.StopUsage()
	return u.ForeignCores, u.LoadMean
}

// StopUsage ends the interval and returns everything measured over it.
func (m *Monitor) StopUsage() Usage {
	close(m.stop)
	m.wg.Wait()
	var u Usage
	m.mu.Lock()
	if m.loadN > 0 {
		u.LoadMean = m.loadSum / float64(m.loadN)
	}
	m.mu.Unlock()
	busy1, steal1, self1, ok := cpuTimes()
	secs := time.Since(m.start).Seconds()
	if !ok || !m.ok || secs <= 0 {
		return u
	}
	u.ForeignCores = max(float64((busy1-m.busy0)-(self1-m.self0))/clkTck/secs, 0)
	u.StealCores = max(float64(steal1-m.steal0)/clkTck/secs, 0)
	return u
}
