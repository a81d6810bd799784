package metric

import (
	"strings"
	"testing"
)

func TestRegister(t *testing.T) {
	tests := []struct {
		name string
		def  Def
		want string // substring of the error; "" for success
	}{
		{"plugin metric", Def{ID: "jitter.itl_cv", Unit: "1", Better: Lower, Source: "jitter"}, ""},
		{"duplicate of a built-in", Def{ID: TTFT, Unit: "ms", Better: Lower, Source: "evil"}, "defined twice (by builtin and evil)"},
		{"uppercase id", Def{ID: "Jitter.X", Unit: "1", Better: Lower}, "lowercase"},
		{"no unit", Def{ID: "x.y", Better: Lower}, "missing unit"},
		{"no direction", Def{ID: "x.z", Unit: "ms"}, "better must be"},
	}
	r := NewRegistry()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := r.Register(tc.def)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Register: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Register error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestAllOrdersBuiltinsFirst(t *testing.T) {
	r := NewRegistry()
	if err := r.Register(Def{ID: "a.first_alphabetically", Unit: "1", Better: Lower, Source: "p"}); err != nil {
		t.Fatal(err)
	}
	all := r.All()
	if all[0].ID != TTFT {
		t.Errorf("first metric %s, want %s", all[0].ID, TTFT)
	}
	if last := all[len(all)-1]; last.ID != "a.first_alphabetically" {
		t.Errorf("last metric %s, want the plugin's after every built-in", last.ID)
	}
	for _, d := range CaseLevel {
		if _, ok := r.Lookup(d.ID); !ok {
			t.Errorf("case-level metric %s missing from NewRegistry", d.ID)
		}
	}
}
