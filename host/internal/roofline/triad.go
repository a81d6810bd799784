// Package roofline measures what bounds decoding on this machine, so that a
// generator's tokens per second can be judged against the hardware instead
// of against last week's number.
//
// It takes a stand on the bound: decoding one token reads every weight once,
// so memory bandwidth divided by the weight bytes read per token is the most
// tokens per second any engine can reach on the CPU (the roofline). The
// bandwidth is measured here, by a STREAM-style triad in Go over arrays much
// larger than the last-level cache, not taken from a data sheet. The package
// also holds a bare ONNX Runtime decode loop: the least code that drives a
// session, which pipe's own generator must match.
package roofline

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

// TriadOptions sizes the triad. The zero value uses runtime.NumCPU()
// goroutines, arrays of 16 Mi float64 each (128 MiB, three arrays: 384 MiB)
// and 10 repetitions.
type TriadOptions struct {
	Threads int // goroutines, each on its own OS thread
	Elems   int // elements per array
	Reps    int // timed repetitions; the best one counts (STREAM's convention)
}

// Triad is the result of a triad run.
type Triad struct {
	Threads     int     `json:"threads"`
	ArrayBytes  int64   `json:"array_bytes"`     // bytes of one array
	Reps        int     `json:"reps"`            // timed repetitions
	BestGBps    float64 `json:"best_gb_per_s"`   // best repetition, 10⁹ bytes/s
	MedianGBps  float64 `json:"median_gb_per_s"` // median repetition
	BytesPerRep int64   `json:"bytes_per_rep"`   // 3 arrays × 8 bytes × elements (reads of b, c, write of a)
}

// MeasureTriad runs a[i] = b[i] + s·c[i] over three float64 arrays split
// among o.Threads goroutines, and reports the bandwidth as STREAM counts it
// (24 bytes per element; the write-allocate read is not counted).
func MeasureTriad(o TriadOptions) (Triad, error) {
	if o.Threads == 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.Elems == 0 {
		o.Elems = 16 << 20
	}
	if o.Reps == 0 {
		o.Reps = 10
	}
	if o.Threads < 0 || o.Elems < o.Threads || o.Reps < 1 {
		return Triad{}, fmt.Errorf("triad: threads %d, elements %d, reps %d: need threads ≥ 0, elements ≥ threads, reps ≥ 1", o.Threads, o.Elems, o.Reps)
	}
	a := make([]float64, o.Elems)
	b := make([]float64, o.Elems)
	c := make([]float64, o.Elems)
	chunk := (o.Elems + o.Threads - 1) / o.Threads

	// Each worker owns one slice range on one OS thread; the first touch
	// (initialisation) happens on that thread too.
	start := make([]chan struct{}, o.Threads)
	var done sync.WaitGroup
	done.Add(o.Threads) // before the workers start: one may finish its first touch at once
	for w := range o.Threads {
		start[w] = make(chan struct{})
		lo, hi := w*chunk, min((w+1)*chunk, o.Elems)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for i := lo; i < hi; i++ {
				a[i], b[i], c[i] = 1, 2, 0.5
			}
			done.Done()
			for range start[w] {
				triad(a[lo:hi], b[lo:hi], c[lo:hi], 3)
				done.Done()
			}
		}()
	}
	round := func() time.Duration {
		done.Add(o.Threads)
		t0 := time.Now()
		for _, ch := range start {
			ch <- struct{}{}
		}
		done.Wait()
		return time.Since(t0)
	}
	done.Wait() // initialised
	round()     // warm up: page faults, frequency
	times := make([]time.Duration, o.Reps)
	for r := range times {
		times[r] = round()
	}
	for _, ch := range start {
		close(ch)
	}
	if a[0] != 2+3*0.5 {
		return Triad{}, fmt.Errorf("triad: a[0] = %g, want %g", a[0], 2+3*0.5)
	}
	bytes := int64(24) * int64(o.Elems)
	best, med := bestAndMedian(times)
	return Triad{
		Threads:     o.Threads,
		ArrayBytes:  int64(8 * o.Elems),
		Reps:        o.Reps,
		BestGBps:    float64(bytes) / best.Seconds() / 1e9,
		MedianGBps:  float64(bytes) / med.Seconds() / 1e9,
		BytesPerRep: bytes,
	}, nil
}

func triad(a, b, c []float64, s float64) {
	b, c = b[:len(a)], c[:len(a)]
	for i := range a {
		a[i] = b[i] + s*c[i]
	}
}

func bestAndMedian(ts []time.Duration) (best, median time.Duration) {
	s := append([]time.Duration(nil), ts...)
	for i := 1; i < len(s); i++ { // insertion sort: a handful of values
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[0], s[len(s)/2]
}

// TokensPerSecond is the roofline: bandwidth (bytes/s) over the bytes read
// to decode one token.
func TokensPerSecond(bytesPerSecond float64, bytesPerToken int64) float64 {
	if bytesPerToken <= 0 {
		return 0
	}
	return bytesPerSecond / float64(bytesPerToken)
}
