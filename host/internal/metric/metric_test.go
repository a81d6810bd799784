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
	r := builtinRegistry(t)
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
	r := builtinRegistry(t)
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
			t.Errorf("case-level metric %s missing from the built-in definitions", d.ID)
		}
	}
}

// TestNamespaceOwned: the first segment of an ID belongs to one source, so
// a plugin named like a built-in metric cannot define metrics that read as
// the built-in's (ttft_ms.p99 next to ttft_ms's own p99), nor add to a
// built-in namespace (throughput.*). The error names both.
func TestNamespaceOwned(t *testing.T) {
	r := builtinRegistry(t)
	for _, tc := range []struct {
		def  Def
		want string
	}{
		{Def{ID: "ttft_ms.p99", Unit: "ms", Better: Lower, Source: "ttft_ms"}, "metric ttft_ms.p99 (plugin ttft_ms): the name ttft_ms is taken by the built-in metric ttft_ms"},
		{Def{ID: "throughput.extra", Unit: "1", Better: Lower, Source: "throughput"}, "metric throughput.extra (plugin throughput): the name throughput is taken by the built-in metric throughput.output_tps"},
		{Def{ID: ThroughputOutputTPS, Unit: "tok/s", Better: Higher, Source: "throughput"}, "defined twice (by builtin and throughput)"},
	} {
		err := r.Register(tc.def)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Register(%s) = %v, want one line containing %q", tc.def.ID, err, tc.want)
		}
	}
	for _, d := range []Def{
		{ID: "jitter.itl_cv", Unit: "1", Better: Lower, Source: "jitter"},
		{ID: "jitter.slowdown", Unit: "1", Better: Lower, Source: "jitter"},
	} {
		if err := r.Register(d); err != nil {
			t.Errorf("Register(%s): %v", d.ID, err)
		}
	}
	if err := r.Register(Def{ID: "jitter.other", Unit: "1", Better: Lower, Source: "impostor"}); err == nil || !strings.Contains(err.Error(), "taken by plugin jitter's metric jitter.itl_cv") {
		t.Errorf("a second source in jitter's namespace: %v", err)
	}
	for _, tc := range []struct{ name, want string }{
		{"ttft_ms", `plugin name "ttft_ms" is taken by the built-in metric ttft_ms`},
		{"decode_tps", `plugin name "decode_tps" is taken by the built-in metric decode_tps`},
		{"throughput", `plugin name "throughput" is taken by the built-in metric throughput.output_tps`},
		{"goodput", ""},
	} {
		err := r.Claim(tc.name, tc.name)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Claim(%s) = %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := r.Claim("jitter", "jitter"); err != nil {
		t.Errorf("a plugin claims its own namespace: %v", err)
	}
}

// TestKnown: a defined metric is known, and so is a dotted ID in a
// plugin's claimed namespace (its declarations come when it loads); a
// built-in's namespace, an undotted plugin name and an unclaimed namespace
// are not.
func TestKnown(t *testing.T) {
	r := builtinRegistry(t)
	if err := r.Claim("jitter", "jitter"); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{
		TTFT:                true,
		ThroughputOutputTPS: true,
		"jitter.itl_cv":     true,
		"jitter":            false,
		"ttft_ms.extra":     false,
		"throughput.other":  false,
		"other.itl_cv":      false,
	} {
		if got := r.Known(id); got != want {
			t.Errorf("Known(%q) = %v, want %v", id, got, want)
		}
	}
}

// builtinRegistry holds the built-in definitions, registered as the
// built-in metric module registers them (measure.Builtin).
func builtinRegistry(t *testing.T) *Registry {
	t.Helper()
	r := &Registry{}
	if err := r.Define("builtin", append(append([]Def{}, Builtin...), CaseLevel...)); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDefineAndClone: Define sets a module's name as the Source of the
// definitions that name none and registers all or none; a clone
// claims and registers apart from the registry it copies.
func TestDefineAndClone(t *testing.T) {
	r := builtinRegistry(t)
	if d, _ := r.Lookup(TTFT); d.Source != "builtin" {
		t.Errorf("ttft_ms's source %q, want builtin", d.Source)
	}
	err := r.Define("evil", []Def{{ID: "evil.x", Unit: "1", Better: Lower}, {ID: TTFT, Unit: "ms", Better: Lower}})
	if err == nil || !strings.Contains(err.Error(), "metric ttft_ms: defined twice (by builtin and evil)") {
		t.Errorf("Define of a built-in's ID: %v", err)
	}
	if _, ok := r.Lookup("evil.x"); ok || r.Claim("evil", "other") != nil {
		t.Error("a refused Define left evil.x or its namespace registered")
	}
	c := r.Clone()
	if err := c.Claim("jitter", "jitter"); err != nil {
		t.Fatal(err)
	}
	if !c.Known("jitter.itl_cv") || r.Known("jitter.itl_cv") {
		t.Errorf("a claim in the clone: clone knows jitter.itl_cv %v, original %v; want true, false", c.Known("jitter.itl_cv"), r.Known("jitter.itl_cv"))
	}
	if _, ok := c.Lookup(TTFT); !ok {
		t.Error("the clone lost the built-in definitions")
	}
}
