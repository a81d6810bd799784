package htmlreport

import (
	"strings"
	"testing"
)

func TestAxisLabels(t *testing.T) {
	tests := []struct {
		ids    []string
		want   string
		shared string
	}{
		{[]string{"p128-n64-b1-s1", "p128-n64-b2-s1", "p128-n64-b1-s2"}, "b1-s1 b2-s1 b1-s2", "p128-n64"},
		{[]string{"p128-n64", "p512-n128"}, "p128-n64 p512-n128", ""},
		{[]string{"p8-n4-t1", "p8-n4-t2"}, "t1 t2", "p8-n4"},
		{[]string{"only"}, "only", ""},
	}
	for _, tc := range tests {
		got, shared := axisLabels(tc.ids)
		if strings.Join(got, " ") != tc.want || shared != tc.shared {
			t.Errorf("axisLabels(%v) = %v, %q; want %s, %q", tc.ids, got, shared, tc.want, tc.shared)
		}
	}
}
