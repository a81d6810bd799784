//go:build wasip1

package sdk

import (
	"errors"
	"unsafe"
)

// The raw ABI v1 glue: host imports from module "pipe" and the exports pipe
// calls. See README.md for the contract.

//go:wasmimport pipe input_len
func inputLen() uint32

//go:wasmimport pipe input_read
func inputRead(ptr unsafe.Pointer, n uint32) uint32

//go:wasmimport pipe output_write
func outputWrite(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport pipe error_set
func errorSet(ptr unsafe.Pointer, n uint32)

//go:wasmimport pipe log
func logWrite(level uint32, ptr unsafe.Pointer, n uint32)

//go:wasmexport pipe_abi_v1
func pipeABIv1() {}

//go:wasmexport pipe_describe
func pipeDescribe() int32 { return serve("pipe_describe") }

//go:wasmexport pipe_configure
func pipeConfigure() int32 { return serve("pipe_configure") }

//go:wasmexport pipe_metric
func pipeMetric() int32 { return serve("pipe_metric") }

//go:wasmexport pipe_target
func pipeTarget() int32 { return serve("pipe_target") }

//go:wasmexport pipe_report
func pipeReport() int32 { return serve("pipe_report") }

// serve reads the call's input, runs Handle, and reports its error.
func serve(export string) int32 {
	in := make([]byte, inputLen())
	if len(in) > 0 {
		inputRead(unsafe.Pointer(&in[0]), uint32(len(in)))
	}
	status, msg := Handle(export, in, hostOutput{})
	if status != StatusOK && msg != "" {
		b := []byte(msg)
		errorSet(unsafe.Pointer(&b[0]), uint32(len(b)))
	}
	return status
}

var errOutputCap = errors.New("output exceeds the host's cap (raise max_output for this plugin)")

// hostOutput streams writes straight to the call's output.
type hostOutput struct{}

func (hostOutput) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if outputWrite(unsafe.Pointer(&p[0]), uint32(len(p))) < 0 {
		return 0, errOutputCap
	}
	return len(p), nil
}

func hostLog(level uint32, msg string) {
	if msg == "" {
		return
	}
	b := []byte(msg)
	logWrite(level, unsafe.Pointer(&b[0]), uint32(len(b)))
}
