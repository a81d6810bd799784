package pipeline

import (
	"fmt"
	"sort"
	"strings"
)

// A Problem is one thing wrong with a pipeline, located where the user can
// fix it: a line of the file, or the --set argument that brought the value.
type Problem struct {
	File string // the pipeline file, as given
	Line int    // 1-based; 0 when the problem has no line (or comes from --set)
	Set  string // the --set argument ("generate.runs=0") that set the value
	Key  string // TOML key path, e.g. "generate.runs" or "case.1.new_tokens"
	Msg  string
}

// String formats p as "file:line: key: message", or "--set arg: key:
// message" for a value that came from the command line.
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.Set != "":
		b.WriteString("--set " + p.Set)
	case p.Line > 0:
		fmt.Fprintf(&b, "%s:%d", p.File, p.Line)
	default:
		b.WriteString(p.File)
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in one pipeline; as an error it prints
// one problem per line.
type Problems []Problem

func (ps Problems) Error() string { return strings.Join(ps.Lines(), "\n") }

// Lines formats ps one problem a line: the first MaxShown, then a line
// that counts the rest.
func (ps Problems) Lines() []string {
	n := min(len(ps), MaxShown)
	lines := make([]string, n, n+1)
	for i, p := range ps[:n] {
		lines[i] = p.String()
	}
	if len(ps) > n {
		lines = append(lines, fmt.Sprintf("… and %d more problems", len(ps)-n))
	}
	return lines
}

// sorted returns ps without duplicates: command-line problems first, in
// the order of the --set arguments (sets), then in file order.
func (ps Problems) sorted(sets []string) Problems {
	setOrder := map[string]int{}
	for i, s := range sets {
		if _, ok := setOrder[s]; !ok {
			setOrder[s] = i
		}
	}
	seen := map[string]bool{}
	var out Problems
	for _, p := range ps {
		if s := p.String(); !seen[s] {
			seen[s] = true
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Set != "") != (b.Set != "") {
			return a.Set != ""
		}
		if a.Set != "" {
			return setOrder[a.Set] < setOrder[b.Set]
		}
		return a.Line < b.Line
	})
	return out
}
