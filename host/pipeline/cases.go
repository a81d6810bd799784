package pipeline

import (
	"fmt"
	"os"
)

// cases checks the sampling and prompt settings and expands the matrix (or
// the [[case]] tables) into the plan's cases, checking each against the
// model's context length.
func (l *loader) cases(doc *fileDoc, p *Plan) {
	hasMatrix, hasCases := l.seen("matrix"), l.seen("case")
	sampling := doc.Sampling
	if sampling.Temperature < 0 {
		l.addf("sampling.temperature", "must be ≥ 0 (0: greedy), got %v", sampling.Temperature)
	}
	if sampling.TopK < 0 {
		l.addf("sampling.top_k", "must be ≥ 0 (0: off), got %d", sampling.TopK)
	}
	if sampling.TopP < 0 || sampling.TopP > 1 {
		l.addf("sampling.top_p", "must be within [0, 1] (0: off), got %v", sampling.TopP)
	}
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

	type axis struct {
		key  string
		vals []int
		min  int
	}
	var raw []CaseSpec
	if hasMatrix {
		mx := doc.Matrix
		p.MatrixMode = mx.Mode
		l.choice("matrix.mode", &p.MatrixMode, matrixModes)
		axes := []*axis{
			{"prompt_tokens", mx.PromptTokens, 1}, {"new_tokens", mx.NewTokens, 1},
			{"batch", mx.Batch, 1}, {"streams", mx.Streams, 1}, {"threads", mx.Threads, 0},
		}
		defaults := map[string]int{"batch": 1, "streams": 1, "threads": 0}
		ok := true
		for _, a := range axes {
			key := "matrix." + a.key
			if l.dec.bad[key] {
				ok = false // its problem is reported
				continue
			}
			if !l.seen(key) {
				if d, hasDefault := defaults[a.key]; hasDefault {
					a.vals = []int{d}
					continue
				}
				l.addf("matrix", "%s is missing: list the lengths to try, e.g. %s = [128, 512]", a.key, a.key)
				ok = false
				continue
			}
			if len(a.vals) == 0 {
				l.addf(key, "is empty: give at least one value")
				ok = false
			}
			for _, v := range a.vals {
				if v < a.min {
					l.addf(key, "values must be ≥ %d, got %d", a.min, v)
					ok = false
				}
			}
		}
		if !ok {
			return
		}
		if p.MatrixMode == "zip" {
			var ref *axis
			for _, a := range axes {
				if len(a.vals) == 1 {
					continue
				}
				if ref == nil {
					ref = a
				} else if len(a.vals) != len(ref.vals) {
					l.addf("matrix."+a.key, "zip mode pairs values by position, but %s has %d values and %s has %d; give them the same length (a single value applies to every case), or set mode = \"cartesian\"",
						ref.key, len(ref.vals), a.key, len(a.vals))
					return
				}
			}
			n := 1
			if ref != nil {
				n = len(ref.vals)
			}
			if n > MaxCases {
				l.addf("matrix", "%d cases are more than %d; shorten the lists", n, MaxCases)
				return
			}
			pick := func(a *axis, i int) int {
				if len(a.vals) == 1 {
					return a.vals[0]
				}
				return a.vals[i]
			}
			for i := 0; i < n; i++ {
				raw = append(raw, CaseSpec{PromptTokens: pick(axes[0], i), NewTokens: pick(axes[1], i), Batch: pick(axes[2], i), Streams: pick(axes[3], i), Threads: pick(axes[4], i)})
			}
		} else {
			n := 1
			for _, a := range axes {
				n *= len(a.vals)
				if n > MaxCases {
					l.addf("matrix", "the cartesian product has more than %d cases; shorten the lists, or use mode = \"zip\"", MaxCases)
					return
				}
			}
			for _, pt := range axes[0].vals {
				for _, nt := range axes[1].vals {
					for _, b := range axes[2].vals {
						for _, s := range axes[3].vals {
							for _, th := range axes[4].vals {
								raw = append(raw, CaseSpec{PromptTokens: pt, NewTokens: nt, Batch: b, Streams: s, Threads: th})
							}
						}
					}
				}
			}
		}
		for i := range raw {
			raw[i].Line = l.at("matrix").Line
			raw[i].PromptFile = promptFile
		}
	} else {
		p.MatrixMode = "cases"
		for i, cd := range doc.Case {
			key := fmt.Sprintf("case.%d", i)
			c := CaseSpec{ID: cd.ID, PromptTokens: cd.PromptTokens, NewTokens: cd.NewTokens, Batch: 1, Streams: 1, Threads: cd.Threads, Line: l.at(key).Line, PromptFile: promptFile}
			for _, k := range []string{"prompt_tokens", "new_tokens"} {
				if !l.seen(key + "." + k) {
					l.addf(key, "%s is missing", k)
				}
			}
			if l.seen(key+".prompt_tokens") && cd.PromptTokens < 1 {
				l.addf(key+".prompt_tokens", "must be ≥ 1, got %d", cd.PromptTokens)
			}
			if l.seen(key+".new_tokens") && cd.NewTokens < 1 {
				l.addf(key+".new_tokens", "must be ≥ 1, got %d", cd.NewTokens)
			}
			if l.seen(key + ".batch") {
				c.Batch = cd.Batch
				if cd.Batch < 1 {
					l.addf(key+".batch", "must be ≥ 1, got %d", cd.Batch)
				}
			}
			if l.seen(key + ".streams") {
				c.Streams = cd.Streams
				if cd.Streams < 1 {
					l.addf(key+".streams", "must be ≥ 1, got %d", cd.Streams)
				}
			}
			if cd.Threads < 0 {
				l.addf(key+".threads", "must be ≥ 0 (0: the model's intra_op_threads), got %d", cd.Threads)
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
	}

	varies := func(get func(CaseSpec) int) bool {
		for _, c := range raw {
			if get(c) != get(raw[0]) {
				return true
			}
		}
		return false
	}
	vb := varies(func(c CaseSpec) int { return c.Batch })
	vs := varies(func(c CaseSpec) int { return c.Streams })
	vt := varies(func(c CaseSpec) int { return c.Threads })
	ids := map[string]int{}
	for i := range raw {
		c := &raw[i]
		if c.ID == "" {
			c.ID = fmt.Sprintf("p%d-n%d", c.PromptTokens, c.NewTokens)
			if vb {
				c.ID += fmt.Sprintf("-b%d", c.Batch)
			}
			if vs {
				c.ID += fmt.Sprintf("-s%d", c.Streams)
			}
			if vt {
				c.ID += fmt.Sprintf("-t%d", c.Threads)
			}
		}
		c.Sampling = sampling
		c.PromptSeed = doc.Prompt.Seed
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
		} else {
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
	p.Cases = raw
}

func (l *loader) checkPromptFile(key, file string, p *Plan) {
	if st, err := os.Stat(file); err != nil || st.IsDir() {
		l.addf(key, "no such file %s (paths in the pipeline are relative to its directory)", file)
	}
	if p.Model.Tokenizer == "" {
		l.addf(key, "a prompt file needs a tokenizer; set model.tokenizer, or drop the file to use seeded random token ids")
	}
}
