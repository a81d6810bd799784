package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigAgainstGraph: a config.json whose sizes are negative, or whose
// context length passes the graph's position table, is refused by Load and
// ReadConfig on a real built model, naming both numbers (before, Load took
// n_positions = -1 or 4096 and ONNX Runtime failed mid-run with an index
// error).
func TestConfigAgainstGraph(t *testing.T) {
	tiny := GPT2Tiny() // 128 positions
	rewrite := func(t *testing.T, dir, old, new string) {
		t.Helper()
		file := filepath.Join(dir, "config.json")
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), old) {
			t.Fatalf("config.json lacks %q", old)
		}
		if err := os.WriteFile(file, []byte(strings.ReplaceAll(string(b), old, new)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{"n_positions past the table", `"n_positions": 128`, `"n_positions": 4096`,
			"n_positions = 4096, but the graph's position table transformer.wpe.weight has 128 rows: set n_positions to 128 (or less), or use the config.json that came with the model"},
		{"max_position_embeddings wins and is named", `"n_positions": 128`, `"n_positions": 128, "max_position_embeddings": 129`,
			"max_position_embeddings = 129, but the graph's position table transformer.wpe.weight has 128 rows"},
		{"negative n_positions", `"n_positions": 128`, `"n_positions": -1`, "n_positions = -1: a size must be ≥ 0 (0: unknown)"},
		{"negative heads", `"n_head": 4`, `"n_head": -4`, "n_head = -4: a size must be > 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := buildTo(t, tiny, 1, StyleOptimum, true)
			rewrite(t, dir, tc.old, tc.new)
			if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Load: %v, want one line containing %q", err, tc.want)
			}
			if _, _, err := ReadConfig(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadConfig: %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// Within the table (and no table to check: without config.json) loads.
	dir := buildTo(t, tiny, 1, StyleOptimum, true)
	rewrite(t, dir, `"n_positions": 128`, `"n_positions": 100`)
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MaxPositions != 100 {
		t.Errorf("MaxPositions = %d, want 100", m.Config.MaxPositions)
	}
	if _, err := Load(buildTo(t, tiny, 1, StyleFused, false)); err != nil {
		t.Fatal(err)
	}
}

// TestPositionTableRead: the header reader finds the position table of both
// graph styles and of the torch.onnx.export fixture.
func TestPositionTableRead(t *testing.T) {
	for name, dir := range map[string]string{
		"optimum": buildTo(t, GPT2Tiny(), 1, StyleOptimum, false),
		"fused":   buildTo(t, GPT2Tiny(), 1, StyleFused, false),
	} {
		h := graphHeaderIn(dir)
		if h == nil || h.positionRows != 128 || h.positionTable != "transformer.wpe.weight" {
			t.Errorf("%s: position table %+v, want transformer.wpe.weight with 128 rows", name, h)
		}
	}
	if h := graphHeaderIn(torchFixture); h == nil {
		t.Error("torch fixture: no header")
	} else {
		t.Logf("torch fixture: position table %q, %d rows", h.positionTable, h.positionRows)
	}
}
