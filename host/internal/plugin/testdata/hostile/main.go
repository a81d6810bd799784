// Command hostile is a metric plugin that misbehaves on request, to test
// that pipe contains it. The first run's case ID picks the misbehaviour:
// "loop", "alloc", "panic", "goroutine_panic", "garbage", "flood",
// "undeclared", "passwd", "env", "clock", "exit", "read:PATH" (returns the
// file's text in its error), "list:PATH" (returns the directory's names),
// "write:PATH" (writes the file);
// "log" logs and behaves; any other case behaves.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"github.com/pipe-bench/pipe/sdk"
)

//go:wasmimport pipe output_write
func outputWrite(ptr unsafe.Pointer, n uint32) int32

var sink []byte

func init() {
	sdk.Register(sdk.Plugin{
		Name:    "hostile",
		Metrics: []sdk.MetricDef{{ID: "hostile.n", Unit: "1", Better: sdk.Lower}},
		Metric: func(runs []sdk.Run) ([]sdk.Values, sdk.Values, error) {
			mode := ""
			if len(runs) > 0 {
				mode = runs[0].Case
			}
			verb, path, _ := strings.Cut(mode, ":")
			switch verb {
			case "read":
				b, err := os.ReadFile(path)
				if err != nil {
					return nil, nil, fmt.Errorf("could not read %s: %v", path, err)
				}
				return nil, nil, fmt.Errorf("read %s: %q", path, b)
			case "list":
				es, err := os.ReadDir(path)
				if err != nil {
					return nil, nil, fmt.Errorf("could not list %s: %v", path, err)
				}
				var names []string
				for _, e := range es {
					names = append(names, e.Name())
				}
				return nil, nil, fmt.Errorf("listed %s: %s", path, strings.Join(names, ","))
			case "write":
				if err := os.WriteFile(path, []byte("written by hostile"), 0o644); err != nil {
					return nil, nil, fmt.Errorf("could not write %s: %v", path, err)
				}
				return nil, nil, fmt.Errorf("wrote %s", path)
			}
			switch mode {
			case "loop":
				for i := 0; ; i++ {
					if i < 0 {
						break
					}
				}
			case "alloc":
				sink = make([]byte, 1<<30)
				sink[len(sink)-1] = 1
			case "panic":
				var m map[string]int
				m["boom"] = 1 // assignment to entry in nil map
			case "goroutine_panic":
				go func() { panic("hostile goroutine gave up") }()
				runtime.Gosched()
				time.Sleep(time.Millisecond)
			case "garbage":
				junk := []byte("\x00\xffnot a frame at all")
				outputWrite(unsafe.Pointer(&junk[0]), uint32(len(junk)))
			case "flood":
				chunk := make([]byte, 1<<20)
				for range 64 {
					if outputWrite(unsafe.Pointer(&chunk[0]), uint32(len(chunk))) < 0 {
						break
					}
				}
			case "passwd":
				b, err := os.ReadFile("/etc/passwd")
				if err != nil {
					return nil, nil, fmt.Errorf("could not read /etc/passwd: %v", err)
				}
				return nil, nil, fmt.Errorf("read /etc/passwd: %q", b)
			case "env":
				return nil, nil, fmt.Errorf("environment: %q", strings.Join(os.Environ(), ","))
			case "clock":
				return nil, nil, fmt.Errorf("clock: %s", time.Now().UTC().Format(time.RFC3339))
			case "undeclared":
				return []sdk.Values{{"hostile.secret": 1}}, nil, nil
			case "log":
				sdk.Logf(sdk.LevelWarn, "hello from %s", "hostile")
				fmt.Println("a line on stdout")
			case "exit":
				os.Exit(3)
			}
			out := make([]sdk.Values, len(runs))
			for i := range out {
				out[i] = sdk.Values{"hostile.n": float64(i)}
			}
			return out, nil, nil
		},
	})
}

func main() {}
