package pipeline

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFidelitySection(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
		spec FidelitySpec
	}{
		{"none", minimal, nil, FidelitySpec{}},
		{"reference, default runs", minimal + "[fidelity]\nreference = \"fp32\"\n", nil, FidelitySpec{Reference: "fp32", Runs: 1}},
		{"every run", minimal + "[fidelity]\nreference = \"int8\"\nruns = 0\n", nil, FidelitySpec{Reference: "int8", Runs: 0}},
		{"unknown precision", minimal + "[fidelity]\nreference = \"fp8\"\n",
			[]string{`p.toml:8: fidelity.reference: unknown precision "fp8"; use "fp32", "fp16", "int8", "int4" (a precision of the same model)`}, FidelitySpec{}},
		{"negative runs", minimal + "[fidelity]\nreference = \"fp32\"\nruns = -2\n",
			[]string{"p.toml:9: fidelity.runs: must be ≥ 0 (0: every measured run), got -2"}, FidelitySpec{}},
		{"runs without a reference", minimal + "[fidelity]\nruns = 3\n",
			[]string{`p.toml:8: fidelity.runs: [fidelity] needs reference, the precision to compare against: one of "fp32", "fp16", "int8", "int4"`}, FidelitySpec{}},
		{"misspelt key", minimal + "[fidelity]\nrefrence = \"fp32\"\n",
			[]string{"p.toml:8: fidelity.refrence: unknown key; did you mean fidelity.reference?"}, FidelitySpec{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, plan := problemsOf(t, tt.src, LoadOptions{})
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Fatalf("problems (-want +got):\n%s", d)
			}
			if plan != nil && plan.Fidelity != tt.spec {
				t.Errorf("fidelity %+v, want %+v", plan.Fidelity, tt.spec)
			}
		})
	}
}

// TestFidelityInPlanHash: asking for fidelity changes what is measured, so
// the plan hash; a plan without it hashes as before the section existed.
func TestFidelityInPlanHash(t *testing.T) {
	_, a := problemsOf(t, minimal, LoadOptions{})
	_, b := problemsOf(t, minimal+"[fidelity]\nreference = \"fp32\"\n", LoadOptions{})
	_, c := problemsOf(t, minimal+"[fidelity]\nreference = \"int4\"\n", LoadOptions{})
	if a.Hash() == b.Hash() || b.Hash() == c.Hash() {
		t.Errorf("hashes %s, %s, %s: want three different ones", a.Hash(), b.Hash(), c.Hash())
	}
}
