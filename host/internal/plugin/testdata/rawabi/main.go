// Command rawabi is a metric plugin written against the raw ABI v1, without
// the SDK, the way a plugin in another language would be (see
// sdk/README.md). It also accepts its batch as JSON ({"runs":[Run…]})
// instead of the binary frame, so the benchmarks can measure what each
// encoding costs inside wasm. Its one metric, rawabi.mean_itl_ms, is the
// mean gap of each run.
package main

import (
	"encoding/json"
	"unsafe"

	"github.com/pipe-bench/pipe/sdk/abi"
)

//go:wasmimport pipe input_len
func inputLen() uint32

//go:wasmimport pipe input_read
func inputRead(ptr unsafe.Pointer, n uint32) uint32

//go:wasmimport pipe output_write
func outputWrite(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport pipe error_set
func errorSet(ptr unsafe.Pointer, n uint32)

//go:wasmexport pipe_abi_v1
func marker() {}

const manifest = `{"name":"rawabi","version":"1","kinds":["metric"],"inputs":["itl_ms"],
"metrics":[{"id":"rawabi.mean_itl_ms","unit":"ms","better":"lower"}]}`

//go:wasmexport pipe_describe
func describe() int32 { return write([]byte(manifest)) }

//go:wasmexport pipe_metric
func metric() int32 {
	in := make([]byte, inputLen())
	if len(in) > 0 {
		inputRead(unsafe.Pointer(&in[0]), uint32(len(in)))
	}
	var runs []abi.Run
	if len(in) > 0 && in[0] == '{' {
		var doc struct {
			Runs []abi.Run `json:"runs"`
		}
		if err := json.Unmarshal(in, &doc); err != nil {
			return fail(abi.StatusBadInput, err.Error())
		}
		runs = doc.Runs
	} else {
		var err error
		if runs, err = abi.DecodeBatch(in); err != nil {
			return fail(abi.StatusBadInput, err.Error())
		}
	}
	out := abi.MetricOutput{PerRun: make([]map[string]float64, len(runs))}
	for i, r := range runs {
		if len(r.ITLms) == 0 {
			continue
		}
		s := 0.0
		for _, x := range r.ITLms {
			s += x
		}
		out.PerRun[i] = map[string]float64{"rawabi.mean_itl_ms": s / float64(len(r.ITLms))}
	}
	return write(abi.EncodeMetricOutput(out))
}

func write(b []byte) int32 {
	if len(b) > 0 && outputWrite(unsafe.Pointer(&b[0]), uint32(len(b))) < 0 {
		return fail(abi.StatusError, "output cap")
	}
	return abi.StatusOK
}

func fail(status int32, msg string) int32 {
	b := []byte(msg)
	errorSet(unsafe.Pointer(&b[0]), uint32(len(b)))
	return status
}

func main() {}
