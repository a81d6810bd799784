package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// TestHostileFiles: files built to exhaust the TOML decoder are refused
// from their bytes, fast, each with one line; the time and memory each
// took are logged (not asserted). Before the bounds, the 10,000-deep
// inline table alone cost BurntSushi/toml 4 GB and 23 s.
func TestHostileFiles(t *testing.T) {
	deep := func(open, close string, n int) string {
		return "x = " + strings.Repeat(open, n) + "1" + strings.Repeat(close, n) + "\n"
	}
	lines := func(n int, f func(i int) string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(f(i))
		}
		return b.String()
	}
	tests := []struct {
		name, src string
		want      []string
	}{
		{"10,000-deep inline tables", minimal + deep("{a = ", "}", 10000),
			[]string{"p.toml:7: arrays and inline tables nest deeper than 16 levels; flatten the value (pipelines nest at most 2 deep)"}},
		{"100,000-deep inline tables", deep("{a = ", "}", 100000),
			[]string{"p.toml:1: arrays and inline tables nest deeper than 16 levels; flatten the value (pipelines nest at most 2 deep)",
				"p.toml:1: more than 20000 keys; a pipeline needs a few dozen (use a [matrix] rather than thousands of [[case]] tables)"}},
		{"100,000-deep arrays", deep("[", "]", 100000),
			[]string{"p.toml:1: arrays and inline tables nest deeper than 16 levels; flatten the value (pipelines nest at most 2 deep)"}},
		{"17 levels, one past the bound", deep("[", "]", 17), []string{"p.toml:1: arrays and inline tables nest deeper than 16 levels; flatten the value (pipelines nest at most 2 deep)"}},
		{"a 10,000-part dotted key", strings.Repeat("a.", 10000) + "b = 1\n",
			[]string{"p.toml:1: a dotted key or table header has more than 16 parts; pipeline keys have at most 4 (plugin.0.grant.read)"}},
		{"a 10,000-part table header", "\n[" + strings.Repeat("a.", 10000) + "b]\n",
			[]string{"p.toml:2: a dotted key or table header has more than 16 parts; pipeline keys have at most 4 (plugin.0.grant.read)"}},
		{"2 M unknown keys", lines(2_000_000, func(i int) string { return fmt.Sprintf("k%d = 1\n", i) }),
			[]string{"p.toml: 24888890 bytes is more than the 1048576 a pipeline may have; a pipeline is a short TOML file (the shipped ones are under 4 KB)"}},
		{"100,000 keys within the size bound", lines(100_000, func(int) string { return "k=1\n" }),
			[]string{"p.toml:20001: more than 20000 keys; a pipeline needs a few dozen (use a [matrix] rather than thousands of [[case]] tables)",
				"p.toml: 100001 lines is more than the 20000 a pipeline may have"}},
		{"30,000 keys of one inline table", "x = {" + lines(30_000, func(i int) string { return fmt.Sprintf("a%d=1,", i) }) + "b=1}\n",
			[]string{"p.toml:1: more than 20000 keys; a pipeline needs a few dozen (use a [matrix] rather than thousands of [[case]] tables)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			got, _ := problemsOf(t, tt.src, LoadOptions{Names: testNames})
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			t.Logf("%d bytes refused in %v, %.1f MiB allocated", len(tt.src), elapsed, float64(after.TotalAlloc-before.TotalAlloc)/(1<<20))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestBoundsIgnoreStringsAndComments: brackets, dots and '=' inside
// strings and comments are text, not structure.
func TestBoundsIgnoreStringsAndComments(t *testing.T) {
	brackets := strings.Repeat("[{", 100)
	src := "description = '''\n" + brackets + "\n'''\n" + minimal + "# " + brackets + " a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r = =\n" +
		"[report]\ntitle = \"" + brackets + " a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r = 1\"\n" +
		"[[target]]\nexpr = 'ttft_ms.mean < 1s' # " + brackets + "\n" +
		"[aggregate]\npercentiles = [50.5, 90.25, 99.9] # floats are not dotted keys\n"
	got, plan := problemsOf(t, src, LoadOptions{Names: testNames})
	if got != nil {
		t.Fatalf("problems: %q", got)
	}
	if plan.Report.Title != brackets+" a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r = 1" {
		t.Errorf("title %q", plan.Report.Title)
	}
}

// TestHostileFileOnDisk: a 100 MB file is refused by its size, unread, and
// a stream is read no further than the bound.
func TestHostileFileOnDisk(t *testing.T) {
	file := filepath.Join(t.TempDir(), "big.toml")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(100 << 20); err != nil { // sparse: nothing written
		t.Fatal(err)
	}
	f.Close()
	start := time.Now()
	_, err = Load(file, LoadOptions{Names: testNames})
	t.Logf("100 MB file refused in %v", time.Since(start))
	want := file + ": 104857600 bytes is more than the 1048576 a pipeline may have; a pipeline is a short TOML file (the shipped ones are under 4 KB)"
	if err == nil || err.Error() != want {
		t.Errorf("Load = %v, want %s", err, want)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		_, err = Load("/dev/zero", LoadOptions{Names: testNames})
		if want := "/dev/zero: 1048577 bytes is more than the 1048576"; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Load(/dev/zero) = %v, want it to start %q", err, want)
		}
	}
}

// TestProblemsShowTwenty: a file with many problems prints the first 20
// and counts the rest.
func TestProblemsShowTwenty(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal + "[generate]\n")
	for i := range 25 {
		fmt.Fprintf(&b, "unknown%d = 1\n", i)
	}
	got, _ := problemsOf(t, b.String(), LoadOptions{Names: testNames})
	if len(got) != MaxShown+1 || got[MaxShown] != "… and 5 more problems" {
		t.Errorf("%d lines, last %q; want %d and the count of the rest", len(got), got[len(got)-1], MaxShown+1)
	}
}

// TestManyUnknownKeysWithinBounds: the most unknown keys the bounds let
// through are decoded and reported (20 lines and a count) in well under a
// second (4.3 s before the schema's key paths were listed once).
func TestManyUnknownKeysWithinBounds(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal)
	for i := range 19990 {
		fmt.Fprintf(&b, "k%d = 1\n", i)
	}
	start := time.Now()
	got, _ := problemsOf(t, b.String(), LoadOptions{Names: testNames})
	t.Logf("%d unknown keys (%d bytes) reported in %v", 19990, b.Len(), time.Since(start))
	if len(got) != MaxShown+1 || got[0] != "p.toml:7: matrix.k0: unknown key; [matrix] takes mode, prompt_tokens, new_tokens, batch, streams, threads" || got[MaxShown] != "… and 19970 more problems" {
		t.Errorf("%d lines: first %q, last %q", len(got), got[0], got[len(got)-1])
	}
}

// TestSetBounds: a --set value meets the file's bounds.
func TestSetBounds(t *testing.T) {
	got, _ := problemsOf(t, minimal, LoadOptions{Names: testNames, Sets: []string{"report.title=" + strings.Repeat("[", 50) + strings.Repeat("]", 50), strings.Repeat("a.", 20) + "b=1"}})
	want := []string{
		"--set report.title=" + strings.Repeat("[", 50) + strings.Repeat("]", 50) + ": value: arrays and inline tables nest deeper than 16 levels; flatten the value (pipelines nest at most 2 deep)",
		"--set " + strings.Repeat("a.", 20) + "b=1: key \"" + strings.Repeat("a.", 20) + "b\" has 21 parts, more than 16",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// BenchmarkDecoderNesting measures what the bounds spare: BurntSushi/toml
// on nested inline tables, the cost growing with the square of the depth
// (go test -run X -bench DecoderNesting -benchtime 1x -benchmem ./host/pipeline).
func BenchmarkDecoderNesting(b *testing.B) {
	for _, depth := range []int{MaxNesting, 1000, 2000} {
		src := "x = " + strings.Repeat("{a = ", depth) + "1" + strings.Repeat("}", depth) + "\n"
		b.Run(fmt.Sprint(depth), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var m map[string]any
				if _, err := toml.Decode(src, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPrescan: the bounds check on a file of MaxFileBytes.
func BenchmarkPrescan(b *testing.B) {
	src := []byte(strings.Repeat("# a comment line of about forty bytes.\n", MaxFileBytes/40))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		prescan("p.toml", src)
	}
}
