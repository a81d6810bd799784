package measure

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// GPU memory is read through NVML (libnvidia-ml.so.1, opened at run time, so
// builds and machines without an NVIDIA driver are unaffected) and is this
// process's own: the memory NVML lists for our pid on the device, never the
// device's total use, which other processes share.

// ErrNoNVML is wrapped by OpenGPU's error where NVML or the device is missing.
var ErrNoNVML = errors.New("GPU memory unavailable")

var nvmlState struct {
	sync.Mutex
	users int
}

// GPU reads one device's memory use by this process.
type GPU struct {
	dev   nvml.Device
	pid   uint32
	Name  string // e.g. "NVIDIA H200"
	Total int64  // device memory, bytes
}

// OpenGPU opens device index (as CUDA numbers it with the default device
// order) through NVML. Close it when done.
func OpenGPU(index int) (*GPU, error) {
	nvmlState.Lock()
	defer nvmlState.Unlock()
	if ret := nvml.Init(); ret != nvml.SUCCESS {
		return nil, fmt.Errorf("%w: NVML: %s: needs an NVIDIA driver (libnvidia-ml.so.1 on the library path)", ErrNoNVML, nvml.ErrorString(ret))
	}
	dev, ret := nvml.DeviceGetHandleByIndex(index)
	if ret != nvml.SUCCESS {
		nvml.Shutdown()
		n, _ := nvml.DeviceGetCount()
		return nil, fmt.Errorf("%w: GPU %d: %s: this machine has %d; use device_id 0…%d", ErrNoNVML, index, nvml.ErrorString(ret), n, max(n-1, 0))
	}
	g := &GPU{dev: dev, pid: uint32(os.Getpid())}
	g.Name, _ = dev.GetName()
	if mem, ret := dev.GetMemoryInfo(); ret == nvml.SUCCESS {
		g.Total = int64(mem.Total)
	}
	nvmlState.users++
	return g, nil
}

// ProcessBytes returns the device memory this process holds, bytes. found is
// false when NVML does not list the process (no CUDA context yet, or a
// sandbox that hides pids from the driver).
func (g *GPU) ProcessBytes() (bytes int64, found bool, err error) {
	for _, list := range []func() ([]nvml.ProcessInfo, nvml.Return){g.dev.GetComputeRunningProcesses, g.dev.GetGraphicsRunningProcesses} {
		procs, ret := list()
		if ret != nvml.SUCCESS {
			return 0, false, fmt.Errorf("NVML running processes: %s", nvml.ErrorString(ret))
		}
		for _, p := range procs {
			if p.Pid == g.pid {
				return int64(p.UsedGpuMemory), true, nil
			}
		}
	}
	return 0, false, nil
}

// Close releases NVML when the last GPU is closed.
func (g *GPU) Close() {
	nvmlState.Lock()
	defer nvmlState.Unlock()
	if g.dev == nil {
		return
	}
	g.dev = nil
	nvmlState.users--
	if nvmlState.users == 0 {
		nvml.Shutdown()
	}
}

// GPUSampler polls ProcessBytes in a goroutine and keeps the peak. NVML
// refreshes per-process figures on its own schedule, so the interval is
// longer than the RSS sampler's (default 20 ms).
type GPUSampler struct {
	gpu  *GPU
	peak atomic.Int64
	last atomic.Int64
	seen atomic.Bool
	err  atomic.Pointer[error]
	poll *poller
}

// StartGPUSampler starts polling g every interval (0 means 20 ms).
func StartGPUSampler(g *GPU, interval time.Duration) *GPUSampler {
	if interval <= 0 {
		interval = 20 * time.Millisecond
	}
	s := &GPUSampler{gpu: g}
	s.poll = startPoller(interval, s.sample)
	return s
}

func (s *GPUSampler) sample() {
	b, found, err := s.gpu.ProcessBytes()
	if err != nil {
		s.err.CompareAndSwap(nil, &err)
		return
	}
	if found {
		s.seen.Store(true)
		s.last.Store(b)
		raisePeak(&s.peak, b)
	}
}

// Stop takes a last sample, stops polling and returns the peak bytes. err
// says why there is no figure: NVML failed, or never listed this process.
func (s *GPUSampler) Stop() (peak int64, err error) {
	s.poll.stop()
	if e := s.err.Load(); e != nil {
		return s.peak.Load(), *e
	}
	if !s.seen.Load() {
		return 0, fmt.Errorf("NVML does not list process %d on %s: no CUDA context, or the driver cannot see this pid (sandbox)", s.gpu.pid, s.gpu.Name)
	}
	return s.peak.Load(), nil
}

// Last returns the latest sample, bytes.
func (s *GPUSampler) Last() int64 { return s.last.Load() }
