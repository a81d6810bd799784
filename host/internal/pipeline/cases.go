package pipeline

import (
	"fmt"
	"os"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/gen"
)

// caseAxis is one integer dimension of a case — prompt_tokens, new_tokens,
// batch, streams, threads — with everything the matrix and the [[case]]
// tables need to read, check, expand and name it. Cases are built over
// caseAxes, never over the axes by position.
type caseAxis struct {
	key      string // the TOML key in [matrix] and [[case]]
	tag      string // its prefix in a generated case id ("p" in p128-n64)
	min      int
	minNote  string // what the minimum means, in a [[case]] message
	def      int    // the value when the key is not set, unless required
	required bool   // no default: the key must be given
	inID     bool   // always named in a generated id, else only where it varies
	matrix   func(*matrixDoc) intList
	table    func(*caseDoc) int
	field    func(*CaseSpec) *int
}

var caseAxes = []caseAxis{
	{key: "prompt_tokens", tag: "p", min: 1, required: true, inID: true,
		matrix: func(m *matrixDoc) intList { return m.PromptTokens }, table: func(c *caseDoc) int { return c.PromptTokens }, field: func(c *CaseSpec) *int { return &c.PromptTokens }},
	{key: "new_tokens", tag: "n", min: 1, required: true, inID: true,
		matrix: func(m *matrixDoc) intList { return m.NewTokens }, table: func(c *caseDoc) int { return c.NewTokens }, field: func(c *CaseSpec) *int { return &c.NewTokens }},
	{key: "batch", tag: "b", min: 1, def: 1,
		matrix: func(m *matrixDoc) intList { return m.Batch }, table: func(c *caseDoc) int { return c.Batch }, field: func(c *CaseSpec) *int { return &c.Batch }},
	{key: "streams", tag: "s", min: 1, def: 1,
		matrix: func(m *matrixDoc) intList { return m.Streams }, table: func(c *caseDoc) int { return c.Streams }, field: func(c *CaseSpec) *int { return &c.Streams }},
	{key: "threads", tag: "t", min: 0, minNote: " (0: the model's intra_op_threads)",
		matrix: func(m *matrixDoc) intList { return m.Threads }, table: func(c *caseDoc) int { return c.Threads }, field: func(c *CaseSpec) *int { return &c.Threads }},
}

// cases checks the sampling and prompt settings and expands the matrix (or
// the [[case]] tables) into the plan's cases, checking each against the
// model's context length.
func (l *loader) cases(doc *fileDoc, p *Plan) {
	hasMatrix, hasCases := l.seen("matrix"), l.seen("case")
	l.checkSampling(doc.Sampling)
	promptFile := ""
	if doc.Prompt.File != "" {
		promptFile = l.resolvePath("prompt.file", doc.Prompt.File)
		l.checkPromptFile("prompt.file", promptFile, p)
	}

	if l.dec.bad["matrix"] || l.dec.bad["case"] {
		return // the cases could not be read: that problem is reported
	}
	switch {
	case len(doc.Inputs) > 0 && (hasMatrix || hasCases):
		at := "matrix"
		if !hasMatrix {
			at = "case"
		}
		l.addf(at, "a report-only pipeline ([inputs]) generates nothing: remove [matrix]/[[case]], or remove [inputs]")
		return
	case len(doc.Inputs) > 0:
		for _, k := range []string{"model", "prompt", "sampling", "warmup", "generate", "measure"} {
			if l.dec.seen[k] {
				l.addf(k, "[%s] has no effect in a report-only pipeline ([inputs] reads finished results); remove it", k)
			}
		}
		return
	case hasMatrix && hasCases:
		l.addf("case", "use either [matrix] or [[case]] tables, not both")
		return
	case !hasMatrix && !hasCases:
		l.fileProblem("no cases: add a [matrix] with prompt_tokens and new_tokens, or [[case]] tables (or [inputs] for a report-only pipeline)")
		return
	}

	var raw []CaseSpec
	if hasMatrix {
		var ok bool
		if raw, ok = l.matrixCases(&doc.Matrix, p); !ok {
			return
		}
		for i := range raw {
			raw[i].Line = l.at("matrix").Line
			raw[i].PromptFile = promptFile
		}
	} else {
		p.MatrixMode = "cases"
		raw = l.tableCases(doc.Case, promptFile, p)
	}
	nameCases(raw)
	for i := range raw {
		raw[i].Sampling = doc.Sampling
		raw[i].PromptSeed = doc.Prompt.Seed
	}
	l.checkCases(raw, p)
	p.Cases = raw
}

func (l *loader) checkSampling(s gen.Sampling) {
	if s.Temperature < 0 {
		l.addf("sampling.temperature", "must be ≥ 0 (0: greedy), got %v", s.Temperature)
	}
	if s.TopK < 0 {
		l.addf("sampling.top_k", "must be ≥ 0 (0: off), got %d", s.TopK)
	}
	if s.TopP < 0 || s.TopP > 1 {
		l.addf("sampling.top_p", "must be within [0, 1] (0: off), got %v", s.TopP)
	}
}

// matrixCases reads and checks every axis of [matrix] and expands them,
// pairing by position (zip) or in every combination (cartesian); ok is
// false when a problem leaves nothing to expand.
func (l *loader) matrixCases(mx *matrixDoc, p *Plan) (raw []CaseSpec, ok bool) {
	p.MatrixMode = mx.Mode
	l.choice("matrix.mode", &p.MatrixMode, matrixModes)
	lists := make([][]int, len(caseAxes))
	ok = true
	for i, a := range caseAxes {
		key := "matrix." + a.key
		switch {
		case l.dec.bad[key]:
			ok = false // its problem is reported
			continue
		case !l.seen(key) && a.required:
			l.addf("matrix", "%s is missing: list the lengths to try, e.g. %s = [128, 512]", a.key, a.key)
			ok = false
			continue
		case !l.seen(key):
			lists[i] = []int{a.def}
			continue
		}
		lists[i] = a.matrix(mx)
		if len(lists[i]) == 0 {
			l.addf(key, "is empty: give at least one value")
			ok = false
		}
		for _, v := range lists[i] {
			if v < a.min {
				l.addf(key, "values must be ≥ %d, got %d", a.min, v)
				ok = false
			}
		}
	}
	if !ok {
		return nil, false
	}
	var tuples [][]int
	if p.MatrixMode == "zip" {
		if tuples, ok = l.zip(lists); !ok {
			return nil, false
		}
	} else if tuples, ok = l.cartesian(lists); !ok {
		return nil, false
	}
	raw = make([]CaseSpec, len(tuples))
	for i, t := range tuples {
		for j, a := range caseAxes {
			*a.field(&raw[i]) = t[j]
		}
	}
	return raw, true
}

// zip pairs the axes' values by position; an axis with a single value
// applies it to every case. The others must have the same length.
func (l *loader) zip(lists [][]int) ([][]int, bool) {
	ref := -1
	for i, vs := range lists {
		if len(vs) == 1 {
			continue
		}
		if ref < 0 {
			ref = i
		} else if len(vs) != len(lists[ref]) {
			l.addf("matrix."+caseAxes[i].key, "zip mode pairs values by position, but %s has %d values and %s has %d; give them the same length (a single value applies to every case), or set mode = \"cartesian\"",
				caseAxes[ref].key, len(lists[ref]), caseAxes[i].key, len(vs))
			return nil, false
		}
	}
	n := 1
	if ref >= 0 {
		n = len(lists[ref])
	}
	if n > MaxCases {
		l.addf("matrix", "%d cases are more than %d; shorten the lists", n, MaxCases)
		return nil, false
	}
	out := make([][]int, n)
	for k := range out {
		out[k] = make([]int, len(lists))
		for i, vs := range lists {
			out[k][i] = vs[min(k, len(vs)-1)]
		}
	}
	return out, true
}

// cartesian is every combination of the axes' values, the last axis
// varying fastest (prompt_tokens outermost).
func (l *loader) cartesian(lists [][]int) ([][]int, bool) {
	n := 1
	for _, vs := range lists {
		n *= len(vs)
		if n > MaxCases {
			l.addf("matrix", "the cartesian product has more than %d cases; shorten the lists, or use mode = \"zip\"", MaxCases)
			return nil, false
		}
	}
	out := make([][]int, n)
	for k := range out {
		out[k] = make([]int, len(lists))
		rest := k
		for i := len(lists) - 1; i >= 0; i-- {
			out[k][i] = lists[i][rest%len(lists[i])]
			rest /= len(lists[i])
		}
	}
	return out, true
}

// tableCases reads and checks the [[case]] tables: an axis not set takes
// its default, a required one is reported missing.
func (l *loader) tableCases(docs []caseDoc, promptFile string, p *Plan) []CaseSpec {
	raw := make([]CaseSpec, 0, len(docs))
	for i, cd := range docs {
		key := fmt.Sprintf("case.%d", i)
		c := CaseSpec{ID: cd.ID, Line: l.at(key).Line, PromptFile: promptFile}
		for _, a := range caseAxes {
			v := a.def
			switch k := key + "." + a.key; {
			case l.seen(k):
				v = a.table(&cd)
				if v < a.min {
					l.addf(k, "must be ≥ %d%s, got %d", a.min, a.minNote, v)
				}
			case a.required:
				l.addf(key, "%s is missing", a.key)
			}
			*a.field(&c) = v
		}
		if cd.ID != "" && !namePattern.MatchString(cd.ID) {
			l.addf(key+".id", "case id %q: use letters, digits, '.', '_' and '-'", cd.ID)
		}
		if cd.PromptFile != "" {
			c.PromptFile = l.resolvePath(key+".prompt_file", cd.PromptFile)
			l.checkPromptFile(key+".prompt_file", c.PromptFile, p)
		}
		raw = append(raw, c)
	}
	return raw
}

// nameCases gives every case without an id one from its axes, p128-n64
// with -b, -s and -t suffixes for the axes that vary among the cases.
func nameCases(raw []CaseSpec) {
	named := make([]bool, len(caseAxes))
	for i, a := range caseAxes {
		named[i] = a.inID
		for _, c := range raw {
			if *a.field(&c) != *a.field(&raw[0]) {
				named[i] = true
			}
		}
	}
	for i := range raw {
		c := &raw[i]
		if c.ID != "" {
			continue
		}
		var parts []string
		for j, a := range caseAxes {
			if named[j] {
				parts = append(parts, fmt.Sprintf("%s%d", a.tag, *a.field(c)))
			}
		}
		c.ID = strings.Join(parts, "-")
	}
}

// checkCases refuses duplicate ids and checks each case against the
// model's positions (at the key that set its length) and its memory.
func (l *loader) checkCases(raw []CaseSpec, p *Plan) {
	ids := map[string]int{}
	for i := range raw {
		c := &raw[i]
		key := "matrix"
		if p.MatrixMode == "cases" {
			key = fmt.Sprintf("case.%d", i)
		}
		lengthKey := key + ".prompt_tokens"
		if o, ok := l.t.originOf(key + ".new_tokens"); ok && o.set != "" {
			lengthKey = key + ".new_tokens"
		}
		if j, dup := ids[c.ID]; dup {
			l.addf(key, "case %s appears twice (cases %d and %d); give distinct values or distinct id keys", c.ID, j+1, i+1)
		}
		ids[c.ID] = i
		if maxPos := p.Model.MaxPositions; maxPos > 0 && c.PromptTokens+c.NewTokens > maxPos {
			l.addf(lengthKey, "case %s: %d prompt + %d new tokens = %d exceeds the %d positions of %s; shorten prompt_tokens or new_tokens",
				c.ID, c.PromptTokens, c.NewTokens, c.PromptTokens+c.NewTokens, maxPos, p.Model.Source)
			continue
		}
		memKey := lengthKey
		for _, k := range []string{".batch", ".streams"} {
			if l.seen(key + k) {
				memKey = key + k
				break
			}
		}
		l.checkCaseMemory(memKey, *c, l.modelShape, p.Model.Source)
	}
}

func (l *loader) checkPromptFile(key, file string, p *Plan) {
	if st, err := os.Stat(file); err != nil || st.IsDir() {
		l.addf(key, "no such file %s (paths in the pipeline are relative to its directory)", file)
	}
	if p.Model.Tokenizer == "" {
		l.addf(key, "a prompt file needs a tokenizer; set model.tokenizer, or drop the file to use seeded random token ids")
	}
}
