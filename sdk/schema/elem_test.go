package schema

import "testing"

// TestElemTypes: each type is found by its name and by its ONNX number,
// the unset forms mean float32, and unknown ones are not found.
func TestElemTypes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		onnx  int
		bytes int
	}{{"float32", 1, 4}, {"float16", 10, 2}, {"bfloat16", 16, 2}, {"", 0, 4}} {
		byName, ok := ElemTypeNamed(tc.name)
		if !ok || byName.Bytes != tc.bytes || (tc.onnx != 0 && byName.ONNX != tc.onnx) {
			t.Errorf("ElemTypeNamed(%q) = %+v, %v; want %d bytes, ONNX %d", tc.name, byName, ok, tc.bytes, tc.onnx)
		}
		if byNum, ok := ElemTypeONNX(tc.onnx); !ok || byNum.Bytes != tc.bytes {
			t.Errorf("ElemTypeONNX(%d) = %+v, %v; want %d bytes", tc.onnx, byNum, ok, tc.bytes)
		}
		if got := ElemBytes(tc.name); got != tc.bytes {
			t.Errorf("ElemBytes(%q) = %d, want %d", tc.name, got, tc.bytes)
		}
	}
	if _, ok := ElemTypeNamed("int8"); ok {
		t.Error("ElemTypeNamed(int8) found a type")
	}
	if _, ok := ElemTypeONNX(3); ok {
		t.Error("ElemTypeONNX(3) (int8) found a type")
	}
	if got := ElemBytes("int8"); got != 4 {
		t.Errorf("ElemBytes(int8) = %d, want float32's 4", got)
	}
}
