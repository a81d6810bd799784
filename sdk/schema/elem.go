package schema

// ElemType is a tensor element type pipe runs KV caches and logits in:
// its name as results record it (Model.KVCacheType, Model.LogitsType),
// its number in ONNX's TensorProto.DataType (ONNX Runtime's
// ONNXTensorElementDataType numbers them alike) and its size in bytes.
// ElemTypes is the one home of the element-size rule: the generator's
// buffers, the CUDA decoder, the memory model and the roofline all read it.
type ElemType struct {
	Name  string
	ONNX  int
	Bytes int
}

// ElemTypes lists the element types pipe runs.
var ElemTypes = []ElemType{
	{Name: "float32", ONNX: 1, Bytes: 4},
	{Name: "float16", ONNX: 10, Bytes: 2},
	{Name: "bfloat16", ONNX: 16, Bytes: 2},
}

// ElemTypeNamed returns the element type named name; "" is float32, as a
// result that does not record the type means.
func ElemTypeNamed(name string) (ElemType, bool) {
	if name == "" {
		return ElemTypes[0], true
	}
	for _, t := range ElemTypes {
		if t.Name == name {
			return t, true
		}
	}
	return ElemType{}, false
}

// ElemTypeONNX returns the element type of ONNX number n; 0 (unset) is
// float32.
func ElemTypeONNX(n int) (ElemType, bool) {
	if n == 0 {
		return ElemTypes[0], true
	}
	for _, t := range ElemTypes {
		if t.ONNX == n {
			return t, true
		}
	}
	return ElemType{}, false
}

// ElemBytes is the size of one element of the type named name: 4
// (float32) for "" and for a name pipe does not run.
func ElemBytes(name string) int {
	if t, ok := ElemTypeNamed(name); ok {
		return t.Bytes
	}
	return ElemTypes[0].Bytes
}
