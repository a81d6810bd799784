package tokenize

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchCorpus is a few MB of mixed text: the Go standard library's net/http
// sources (code, English comments, string literals) interleaved with the
// golden cases (many scripts, emoji, whitespace runs).
func benchCorpus(b testing.TB) string {
	b.Helper()
	var sb strings.Builder
	goldens := readGoldens(b)
	i := 0
	root := filepath.Join(build.Default.GOROOT, "src", "net", "http")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sb.Write(raw)
		for range 4 {
			sb.WriteString(goldens[i%len(goldens)].Text)
			i++
		}
		return nil
	})
	if err != nil {
		b.Fatalf("reading %s: %v", root, err)
	}
	if sb.Len() < 2<<20 {
		b.Fatalf("corpus is only %d bytes", sb.Len())
	}
	return sb.String()
}

// BenchmarkEncodeGPT2 reports encoding throughput (MB/s) on benchCorpus, with
// the piece cache warm (steady state) and cleared before every pass (a first
// encode of new text).
func BenchmarkEncodeGPT2(b *testing.B) {
	tok := loadGPT2(b)
	text := benchCorpus(b)
	b.Run("warm", func(b *testing.B) {
		tok.Encode(text)
		b.SetBytes(int64(len(text)))
		b.ResetTimer()
		for b.Loop() {
			tok.Encode(text)
		}
	})
	b.Run("cold", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			tok.cache.reset()
			tok.Encode(text)
		}
	})
}

func BenchmarkDecodeGPT2(b *testing.B) {
	tok := loadGPT2(b)
	text := benchCorpus(b)
	ids := tok.Encode(text)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Decode(ids)
	}
}

// BenchmarkSplit reports the pre-tokenizer scanners alone.
func BenchmarkSplit(b *testing.B) {
	text := benchCorpus(b)
	for _, p := range []struct{ name, pattern string }{{"gpt2", GPT2Pattern}, {"llama3", Llama3Pattern}} {
		sp, _ := splitterFor(p.pattern, spaceWhiteSpace)
		b.Run(p.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			pieces := 0
			for b.Loop() {
				sp.split(text, func(string) { pieces++ })
			}
		})
	}
}

// BenchmarkLoadGPT2 reports the cost of opening the GPT-2 files (paid once
// per run, outside every timed request).
func BenchmarkLoadGPT2(b *testing.B) {
	loadGPT2(b)
	for b.Loop() {
		if _, err := Load(GPT2); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeSentencePiece reports encoding throughput (MB/s) on
// benchCorpus for the SentencePiece-style families, warm and cold as
// BenchmarkEncodeGPT2.
func BenchmarkEncodeSentencePiece(b *testing.B) {
	text := benchCorpus(b)
	for _, set := range []string{"mistral", "mistral-metaspace", "gemma3"} {
		tok := loadSPSet(b, set)
		b.Run(set+"/warm", func(b *testing.B) {
			tok.Encode(text)
			b.SetBytes(int64(len(text)))
			b.ResetTimer()
			for b.Loop() {
				tok.Encode(text)
			}
		})
		b.Run(set+"/cold", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				tok.cache.reset()
				tok.Encode(text)
			}
		})
	}
}

func BenchmarkDecodeSentencePiece(b *testing.B) {
	text := benchCorpus(b)
	for _, set := range []string{"mistral", "gemma3"} {
		tok := loadSPSet(b, set)
		ids := tok.Encode(text)
		b.Run(set, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				tok.Decode(ids)
			}
		})
	}
}
