package tokenize

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestSeededIDs(t *testing.T) {
	a := SeededIDs(512, 50257, 1)
	if len(a) != 512 {
		t.Fatalf("len = %d, want 512", len(a))
	}
	if b := SeededIDs(512, 50257, 1); !slices.Equal(a, b) {
		t.Error("same seed gave different ids")
	}
	if c := SeededIDs(512, 50257, 2); slices.Equal(a, c) {
		t.Error("different seeds gave the same ids")
	}
	if short := SeededIDs(100, 50257, 1); !slices.Equal(short, a[:100]) {
		t.Error("a shorter prompt with the same seed is not a prefix of the longer one")
	}
	for _, id := range SeededIDs(20000, 50257, 7) {
		if id < 0 || id >= 50256 {
			t.Fatalf("id %d outside [0, 50256)", id)
		}
	}
	// The sequence is part of pipe's reproducibility promise: results from
	// different versions compare only if the same seed gives the same prompt.
	if got, want := fmt.Sprint(SeededIDs(6, 50257, 42)), "[6484 15103 8638 1819 36789 10744]"; got != want {
		t.Errorf("SeededIDs(6, 50257, 42) = %s, want %s (the generator changed)", got, want)
	}
}

func TestSeededIDsUniform(t *testing.T) {
	const vocab, draws = 11, 110000
	counts := make([]int, vocab)
	for _, id := range SeededIDs(draws, vocab, 3) {
		counts[id]++
	}
	if counts[vocab-1] != 0 {
		t.Errorf("the last id was drawn %d times", counts[vocab-1])
	}
	want := draws / (vocab - 1)
	for id, n := range counts[:vocab-1] {
		if n < want*95/100 || n > want*105/100 {
			t.Errorf("id %d drawn %d times, want about %d", id, n, want)
		}
	}
}

func TestSeededIDsEdges(t *testing.T) {
	cases := []struct {
		name  string
		got   []int64
		want  []int64
		empty bool
	}{
		{name: "n zero", got: SeededIDs(0, 100, 1), empty: true},
		{name: "n negative", got: SeededIDs(-3, 100, 1), empty: true},
		{name: "vocab one", got: SeededIDs(5, 1, 1), empty: true},
		{name: "vocab zero", got: SeededIDs(5, 0, 1), empty: true},
		{name: "vocab two gives only id 0", got: SeededIDs(4, 2, 1), want: []int64{0, 0, 0, 0}},
		{name: "everything avoided", got: SeededIDsAvoiding(4, 2, 1, 0, 1), empty: true},
		{name: "avoid outside range ignored", got: SeededIDsAvoiding(3, 1, 1, 5, -1), want: []int64{0, 0, 0}},
		{name: "avoid all but one", got: SeededIDsAvoiding(3, 3, 9, 0, 2), want: []int64{1, 1, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.empty {
				if len(c.got) != 0 {
					t.Errorf("got %v, want none", c.got)
				}
				return
			}
			if !slices.Equal(c.got, c.want) {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
}

func TestReservedIDs(t *testing.T) {
	tok := loadGPT2(t)
	if got := ReservedIDs(tok); !slices.Equal(got, []int64{50256}) {
		t.Errorf("ReservedIDs(gpt2) = %v, want [50256]", got)
	}
	ids := SeededIDsAvoiding(64, tok.VocabSize(), 5, ReservedIDs(tok)...)
	if !slices.Equal(ids, SeededIDs(64, tok.VocabSize(), 5)) {
		t.Error("for GPT-2, avoiding the reserved ids is SeededIDs")
	}
}

func TestPromptFromText(t *testing.T) {
	tok := loadGPT2(t)
	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 40)
	cases := []struct {
		name   string
		text   string
		n      int
		source string // the text the ids must decode to a prefix of
	}{
		{"cut a long text", long, 64, long},
		{"exact length", "Hello world", 2, "Hello world"},
		{"one token", long, 1, long},
		{"repeat a short text", "Hello world", 25, strings.Repeat("Hello world\n", 20)},
		{"repeat keeps trailing whitespace", "Hi there.\n", 30, strings.Repeat("Hi there.\n", 20)},
		{"repeat a one-token text", "a", 9, strings.Repeat("a\n", 20)},
		{"special token is text", "<|endoftext|>", 10, strings.Repeat("<|endoftext|>\n", 5)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ids, err := PromptFromText(tok, c.text, c.n)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != c.n {
				t.Fatalf("got %d ids, want %d", len(ids), c.n)
			}
			if text := tok.Decode(ids); !strings.HasPrefix(c.source, text) {
				t.Errorf("ids decode to %q, not a prefix of %q", text, c.source)
			}
			if slices.Contains(ids, tok.EOS()) {
				t.Errorf("prompt contains EOS: %v", ids)
			}
		})
	}
}

func TestPromptFromTextErrors(t *testing.T) {
	tok := loadGPT2(t)
	cases := []struct {
		name string
		tok  Tokenizer
		text string
		n    int
		want string
	}{
		{"zero tokens", tok, "hello", 0, "at least 1"},
		{"negative tokens", tok, "hello", -5, "at least 1"},
		{"empty text", tok, "", 10, "prompt text is empty"},
		{"whitespace text", tok, " \n\t", 10, "prompt text is empty"},
		{"no tokenizer", nil, "hello", 10, "no tokenizer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ids, err := PromptFromText(c.tok, c.text, c.n)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("PromptFromText = %v, %v; want an error containing %q", ids, err, c.want)
			}
		})
	}
}
