package measure

import (
	"sync"
	"sync/atomic"
	"time"
)

// poller calls sample once now and then every interval in a goroutine,
// until stop; both samplers (RSS, GPU memory) run on it.
type poller struct {
	stopCh chan struct{}
	done   sync.WaitGroup
	sample func()
}

func startPoller(interval time.Duration, sample func()) *poller {
	p := &poller{stopCh: make(chan struct{}), sample: sample}
	sample()
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-p.stopCh:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return p
}

// stop ends the goroutine and takes one last sample.
func (p *poller) stop() {
	close(p.stopCh)
	p.done.Wait()
	p.sample()
}

// raisePeak sets peak to v if v is larger, safely across goroutines.
func raisePeak(peak *atomic.Int64, v int64) {
	for {
		p := peak.Load()
		if v <= p || peak.CompareAndSwap(p, v) {
			return
		}
	}
}
