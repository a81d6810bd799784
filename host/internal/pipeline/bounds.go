package pipeline

import (
	"fmt"
)

// Bounds on a pipeline file, checked on its bytes before BurntSushi/toml
// sees them: the decoder's cost grows much faster than the file (a 40 KB
// file of 10,000 nested inline tables costs it 4 GB and 23 s, 100,000 of
// them 20 GB), so a file past a bound is refused, with its line, and never
// decoded. Real pipelines sit far inside them: the shipped ones are under
// 2 KB, 65 lines and 25 keys, nested 2 deep.
const (
	// MaxFileBytes bounds the file's size.
	MaxFileBytes = 1 << 20
	// MaxLines bounds its line count.
	MaxLines = 20000
	// MaxNesting bounds how deep arrays and inline tables nest inside a
	// value, and how many parts a dotted key or table header has.
	MaxNesting = 16
	// MaxKeys bounds the key/value pairs (every '=' outside strings and
	// comments), inline tables included.
	MaxKeys = 20000
)

// MaxShown is how many problems a list of them prints; the rest are
// counted on one more line.
const MaxShown = 20

// prescan checks data against the bounds with one pass over its bytes
// that knows just enough TOML to skip strings and comments. It reports
// the first place each bound is passed; a file within them can still be
// bad TOML, which the decoder then reports.
func prescan(file string, data []byte) Problems {
	if len(data) > MaxFileBytes {
		return tooLarge(file, int64(len(data)))
	}
	s := lineScanner{src: string(data), line: 1}
	var ps Problems
	at := func(line int, format string, args ...any) {
		ps = append(ps, Problem{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	var stack []byte // open '[' and '{' of the current value
	keyStart := true // the next bare word is a key (line start, after '{' or ',' in a table)
	header := false  // inside a [table] or [[array]] header
	parts := 1       // parts of the key or header being read
	deepLine, partsLine, keys, keysLine := 0, 0, 0, 0
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\n':
			s.line++
			if len(stack) == 0 {
				keyStart, header, parts = true, false, 1
			}
		case c == '#':
			for s.i < len(s.src) && s.src[s.i] != '\n' {
				s.i++
			}
			continue
		case c == '"' || c == '\'':
			s.skipString(c)
			continue
		case c == '[' && keyStart && len(stack) == 0 && !header:
			header, parts = true, 1
			if s.peek(1) == '[' {
				s.i++
			}
		case c == ']' && header:
			header, keyStart = false, false
		case c == '[' || c == '{':
			stack = append(stack, c)
			if len(stack) > MaxNesting && deepLine == 0 {
				deepLine = s.line
			}
			keyStart, parts = c == '{', 1
		case c == ']' || c == '}':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			keyStart = false
		case c == ',':
			keyStart, parts = len(stack) > 0 && stack[len(stack)-1] == '{', 1
		case c == '=' && keyStart:
			keys++
			if keys > MaxKeys && keysLine == 0 {
				keysLine = s.line
			}
			keyStart = false
		case c == '.' && (keyStart || header):
			parts++
			if parts > MaxNesting && partsLine == 0 {
				partsLine = s.line
			}
		}
		s.i++
	}
	if deepLine > 0 {
		at(deepLine, "arrays and inline tables nest deeper than %d levels; flatten the value (pipelines nest at most 2 deep)", MaxNesting)
	}
	if partsLine > 0 {
		at(partsLine, "a dotted key or table header has more than %d parts; pipeline keys have at most 4 (plugin.0.grant.read)", MaxNesting)
	}
	if keysLine > 0 {
		at(keysLine, "more than %d keys; a pipeline needs a few dozen (use a [matrix] rather than thousands of [[case]] tables)", MaxKeys)
	}
	if s.line > MaxLines {
		at(0, "%d lines is more than the %d a pipeline may have", s.line, MaxLines)
	}
	return ps
}

// tooLarge is the problem of a file of size bytes, past MaxFileBytes.
func tooLarge(file string, size int64) Problems {
	return Problems{{File: file, Msg: fmt.Sprintf("%d bytes is more than the %d a pipeline may have; a pipeline is a short TOML file (the shipped ones are under 4 KB)", size, MaxFileBytes)}}
}
