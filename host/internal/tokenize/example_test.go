package tokenize_test

import (
	"fmt"

	"github.com/pipe-bench/pipe/host/internal/tokenize"
)

func ExampleLoad() {
	tok, err := tokenize.Load(tokenize.GPT2) // the files `pipe setup` fetched
	if err != nil {
		fmt.Println(err)
		return
	}
	ids := tok.Encode("Hello\n\nworld")
	fmt.Println(ids, tok.Decode(ids) == "Hello\n\nworld")
	fmt.Println(tok.Encode("<|endoftext|>")) // plain text by default
	fmt.Println(tok.(tokenize.SpecialEncoder).EncodeSpecial("<|endoftext|>"))
	// Output:
	// [15496 198 198 6894] true
	// [27 91 437 1659 5239 91 29]
	// [50256]
}

func ExamplePromptFromText() {
	tok, err := tokenize.Load(tokenize.GPT2)
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, err := tokenize.PromptFromText(tok, "Hello world", 5) // short text: repeated
	fmt.Println(ids, err)
	fmt.Printf("%q\n", tok.Decode(ids))
	// Output:
	// [15496 995 198 15496 995] <nil>
	// "Hello world\nHello world"
}

func ExampleSeededIDs() {
	fmt.Println(tokenize.SeededIDs(4, 50257, 42))
	// Output: [6484 15103 8638 1819]
}
