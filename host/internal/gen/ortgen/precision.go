package ortgen

import (
	"fmt"
	"math"
	"regexp"
	"unsafe"

	"github.com/pipe-bench/pipe/host/internal/safetensors"
	"github.com/pipe-bench/pipe/sdk/schema"
	ort "github.com/yalue/onnxruntime_go"
)

// elemType is a cache or logits element type: its name as model.Model
// records it, its size and ONNX Runtime's type (sdk/schema's ElemTypes).
type elemType struct {
	name string
	size int
	ort  ort.TensorElementDataType
}

func elemTypeOf(name string) (elemType, error) {
	t, ok := schema.ElemTypeNamed(name)
	if !ok {
		return elemType{}, fmt.Errorf("element type %q: pipe runs float32, float16 and bfloat16", name)
	}
	return elemType{t.Name, t.Bytes, ort.TensorElementDataType(t.ONNX)}, nil
}

// toFloat32 converts one row of 16-bit values into dst, exactly (every
// float16 and bfloat16 value is a float32).
func (t elemType) toFloat32(dst []float32, src []uint16) {
	if t.ort == ort.TensorElementDataTypeBFloat16 {
		for i, h := range src {
			dst[i] = math.Float32frombits(uint32(h) << 16)
		}
		return
	}
	for i, h := range src {
		dst[i] = safetensors.F16ToFloat32(h)
	}
}

// u16Bytes views a uint16 slice as its bytes (no copy).
func u16Bytes(s []uint16) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 2*len(s))
}

// f32Bytes views a float32 slice as its bytes (no copy).
func f32Bytes(s []float32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 4*len(s))
}

// noKernelRE matches ONNX Runtime's message for a node whose op the
// execution provider has no kernel for, at that type.
var noKernelRE = regexp.MustCompile(`Could not find an implementation for (\S+)\((\d+)\) node with name '([^']*)'`)

// runError is the one line for a runtime error: for a missing kernel, the
// op and the provider by name, else the runtime's message flattened.
func runError(err error, device string) string {
	msg := oneLine(err)
	if m := noKernelRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("the %s execution provider has no kernel for op %s (opset %s, node %q) at this model's types: run it on another device (--device), or use a variant of the model in a precision that provider runs (float32 on CPU)", device, m[1], m[2], m[3])
	}
	return msg
}
