package pipeline

import (
	"strconv"
	"strings"
)

// lineIndex maps key paths of a TOML document to the line that defines
// them. BurntSushi/toml v1.6 keeps key positions private (MetaData has no
// position accessor), so this scanner walks the already-parsed source once
// more, for locations only: it never decides what a value is.
//
// Paths join keys with "." and name the elements of arrays of tables by
// index: "case.1.new_tokens". Keys inside inline tables and inline arrays are
// not indexed; a lookup falls back to the nearest enclosing key.
type lineIndex map[string]int

// line returns the line of path, or of its nearest indexed ancestor, or 0.
func (ix lineIndex) line(path string) int {
	for path != "" {
		if l, ok := ix[path]; ok {
			return l
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// indexLines scans src, which BurntSushi/toml has already accepted. On
// other input it returns a partial index and never panics.
func indexLines(src string) lineIndex {
	s := &lineScanner{src: src, line: 1}
	ix := lineIndex{}
	arrays := map[string]int{} // array-of-tables path → element count
	var table []string         // resolved path of the current table
	for s.i < len(s.src) {
		s.skipBlank()
		if s.i >= len(s.src) {
			break
		}
		switch c := s.src[s.i]; {
		case c == '[':
			array := s.peek(1) == '['
			if array {
				s.i += 2
			} else {
				s.i++
			}
			parts := s.key()
			table = resolve(parts, arrays, array)
			joined := strings.Join(table, ".")
			if _, ok := ix[joined]; !ok {
				ix[joined] = s.line
			}
			if array && len(table) > 0 {
				if _, ok := ix[strings.Join(table[:len(table)-1], ".")]; !ok {
					ix[strings.Join(table[:len(table)-1], ".")] = s.line
				}
			}
			s.skipLine()
		default:
			parts := s.key()
			if len(parts) == 0 || s.i >= len(s.src) || s.src[s.i] != '=' {
				s.skipLine() // not a key/value line: recover at the next line
				continue
			}
			line := s.line
			s.i++ // '='
			full := append(append([]string{}, table...), parts...)
			for n := len(table) + 1; n <= len(full); n++ {
				if p := strings.Join(full[:n], "."); ix[p] == 0 {
					ix[p] = line
				}
			}
			s.skipValue()
		}
	}
	return ix
}

// resolve turns a header's key parts into an indexed path: a prefix that
// names an array of tables refers to its last element; the header of an
// array of tables ([[x]]) adds a new element.
func resolve(parts []string, arrays map[string]int, array bool) []string {
	var out []string
	for i, p := range parts {
		out = append(out, p)
		key := strings.Join(out, ".")
		last := i == len(parts)-1
		if last && array {
			arrays[key]++
			out = append(out, strconv.Itoa(arrays[key]-1))
		} else if n, ok := arrays[key]; ok && n > 0 {
			out = append(out, strconv.Itoa(n-1))
		}
	}
	return out
}

type lineScanner struct {
	src  string
	i    int
	line int
}

func (s *lineScanner) peek(k int) byte {
	if s.i+k < len(s.src) {
		return s.src[s.i+k]
	}
	return 0
}

// skipBlank skips spaces, newlines and comments.
func (s *lineScanner) skipBlank() {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\r':
			s.i++
		case '\n':
			s.line++
			s.i++
		case '#':
			for s.i < len(s.src) && s.src[s.i] != '\n' {
				s.i++
			}
		default:
			return
		}
	}
}

func (s *lineScanner) skipSpaces() {
	for s.i < len(s.src) && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

// skipLine moves past the next newline.
func (s *lineScanner) skipLine() {
	for s.i < len(s.src) {
		c := s.src[s.i]
		s.i++
		if c == '\n' {
			s.line++
			return
		}
	}
}

// key reads a possibly dotted, possibly quoted key and stops at the first
// byte that is not part of it ('=', ']', …).
func (s *lineScanner) key() []string {
	var parts []string
	for {
		s.skipSpaces()
		if s.i >= len(s.src) {
			return parts
		}
		switch s.src[s.i] {
		case '"', '\'':
			q := s.src[s.i]
			s.i++
			var b strings.Builder
			for s.i < len(s.src) && s.src[s.i] != q && s.src[s.i] != '\n' {
				if q == '"' && s.src[s.i] == '\\' && s.i+1 < len(s.src) {
					s.i++
				}
				b.WriteByte(s.src[s.i])
				s.i++
			}
			if s.i < len(s.src) && s.src[s.i] == q {
				s.i++
			}
			parts = append(parts, b.String())
		default:
			start := s.i
			for s.i < len(s.src) && isBareKeyByte(s.src[s.i]) {
				s.i++
			}
			if s.i == start {
				return parts
			}
			parts = append(parts, s.src[start:s.i])
		}
		s.skipSpaces()
		if s.i < len(s.src) && s.src[s.i] == '.' {
			s.i++
			continue
		}
		return parts
	}
}

func isBareKeyByte(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// skipValue moves past a value, including multi-line strings and arrays,
// and the end of its line.
func (s *lineScanner) skipValue() {
	depth := 0
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '"' || c == '\'':
			s.skipString(c)
			continue
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == '#':
			for s.i < len(s.src) && s.src[s.i] != '\n' {
				s.i++
			}
			continue
		case c == '\n':
			s.line++
			s.i++
			if depth <= 0 {
				return
			}
			continue
		}
		s.i++
	}
}

// skipString moves past a basic or literal string, single- or multi-line,
// counting the newlines inside.
func (s *lineScanner) skipString(q byte) {
	triple := s.peek(1) == q && s.peek(2) == q
	if triple {
		s.i += 3
	} else {
		s.i++
	}
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\\' && q == '"':
			if s.peek(1) == '\n' {
				s.line++
			}
			s.i += 2
			continue
		case c == '\n':
			if !triple {
				return // unterminated: leave the newline to the caller
			}
			s.line++
		case c == q:
			if !triple {
				s.i++
				return
			}
			if s.peek(1) == q && s.peek(2) == q {
				s.i += 3
				for s.i < len(s.src) && s.src[s.i] == q { // up to two quotes may end the content
					s.i++
				}
				return
			}
		}
		s.i++
	}
}
