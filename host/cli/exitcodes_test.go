package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/result"
)

// The exit codes have one home (app.go): --help of pipe, pipe run and pipe
// report print that table, and the README's table lists the same codes.
func TestExitCodesAreDocumentedOnce(t *testing.T) {
	row := regexp.MustCompile(`(?m)^   (\d)  `)
	var help []int
	for _, m := range row.FindAllStringSubmatch(ExitCodesHelp, -1) {
		n, _ := strconv.Atoi(m[1])
		help = append(help, n)
	}
	if want := []int{ExitOK, ExitError, ExitTargetsFailed, ExitInvalid, ExitIncomplete}; !slices.Equal(help, want) {
		t.Errorf("ExitCodesHelp lists %v, want %v", help, want)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "## Exit codes\n")
	section, _, _ = strings.Cut(section, "\n## ")
	var readme []int
	for _, m := range regexp.MustCompile(`(?m)^\| (\d) \|`).FindAllStringSubmatch(section, -1) {
		n, _ := strconv.Atoi(m[1])
		readme = append(readme, n)
	}
	if !slices.Equal(readme, help) {
		t.Errorf("README's exit-code table lists %v, --help %v", readme, help)
	}
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"report", "--help"}} {
		_, stdout, _ := runPipe(args...)
		for line := range strings.SplitSeq(ExitCodesHelp, "\n") { // indented by the help template
			if !strings.Contains(stdout, strings.TrimSpace(line)) {
				t.Errorf("pipe %s does not print the exit-code line %q", strings.Join(args, " "), line)
			}
		}
	}
}

// One rule maps a result to its exit code, for pipe run and pipe report.
func TestResultCode(t *testing.T) {
	tests := []struct {
		name string
		r    result.Result
		code int
		msg  string
	}{
		{"all well", result.Result{Valid: true}, ExitOK, ""},
		{"failed target", result.Result{Valid: true, Targets: []result.Verdict{{Pass: true}, {Pass: false}}}, ExitTargetsFailed, "1 target(s) failed"},
		{"stage error beats targets", result.Result{Valid: true, Errors: []string{"target stage: boom"}, Targets: []result.Verdict{{Pass: false}}}, ExitError, "1 stage error(s), e.g. target stage: boom (the measurements were written)"},
		{"invalid beats errors", result.Result{Valid: false, Problems: []string{"c: run 1: E2E ≥ TTFT broken"}, Errors: []string{"x"}}, ExitInvalid, "result invalid: 1 broken invariant(s), e.g. c: run 1: E2E ≥ TTFT broken"},
		{"incomplete beats all", result.Result{Valid: false, Incomplete: "incomplete: rebuilt", Errors: []string{"incomplete: rebuilt"}}, ExitIncomplete, "incomplete: rebuilt"},
	}
	for _, tt := range tests {
		code, err := resultCode(&tt.r)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if code != tt.code || msg != tt.msg {
			t.Errorf("%s: resultCode = %d, %q; want %d, %q", tt.name, code, msg, tt.code, tt.msg)
		}
	}
}
