package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/gen"
)

// journalLimitEnv makes the test binary a child that journals under a file
// size limit (RLIMIT_FSIZE), the way a full disk cuts a write short.
const journalLimitEnv = "PIPE_TEST_JOURNAL_FSIZE"

// journalLimitBytes is the child's file size limit: a few lines fit.
const journalLimitBytes = 1500

func testRun(i int) JournalRun {
	tr := &gen.Trace{PromptTokens: []int{8}, OutputIDs: [][]int64{make([]int64, 16)}}
	for k := range 16 {
		tr.TokenNS = append(tr.TokenNS, int64(1e6+k*1e5))
	}
	return JournalRun{Type: journalRun, Case: "p8-n16", Index: i, Trace: tr, Values: map[string]float64{"ttft_ms": 1}, Valid: true}
}

// Issue 9 item 11: a write cut short by the file size limit leaves no torn
// line behind — the journal ends after its last whole line — and the error
// names the journal and the cause.
func TestJournalShortWriteLeavesNoTornLine(t *testing.T) {
	if path := os.Getenv(journalLimitEnv); path != "" {
		journalUnderLimit(path)
		return
	}
	path := filepath.Join(t.TempDir(), JournalName)
	cmd := exec.Command(os.Args[0], "-test.run=^TestJournalShortWriteLeavesNoTornLine$", "-test.count=1")
	cmd.Env = append(os.Environ(), journalLimitEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	errLine := ""
	for l := range strings.SplitSeq(string(out), "\n") {
		if s, ok := strings.CutPrefix(l, "journal error: "); ok {
			errLine = s
		}
	}
	if !strings.Contains(errLine, path) || !strings.Contains(errLine, "file too large") {
		t.Errorf("journal error %q does not name %s and the cause (file too large)\n%s", errLine, path, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatalf("journal (%d bytes) does not end after a whole line: %q", len(data), tail(data))
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	for i, l := range lines {
		var r JournalRun
		if err := json.Unmarshal(l, &r); err != nil || r.Index != i {
			t.Errorf("line %d is not whole (%v): %q", i+1, err, tail(l))
		}
	}
	// The limit cut a write short: some of its bytes would have fit.
	line, _ := json.Marshal(testRun(0))
	if want := journalLimitBytes / (len(line) + 1); len(lines) != want {
		t.Errorf("%d whole lines, want %d (%d-byte lines under a %d-byte limit)", len(lines), want, len(line)+1, journalLimitBytes)
	}
}

func journalUnderLimit(path string) {
	signal.Ignore(syscall.SIGXFSZ) // get EFBIG instead of dying
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println("getrlimit:", err)
		os.Exit(2)
	}
	old := lim
	lim.Cur = journalLimitBytes
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		os.Exit(2)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
	j, err := openJournalFile(path)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	defer j.Close()
	for i := range 100 {
		if err := j.write(testRun(i)); err != nil {
			fmt.Println("journal error: " + err.Error())
			return
		}
	}
	fmt.Println("no error under a " + strconv.Itoa(journalLimitBytes) + "-byte limit")
}

// A device with no space left: the error says so and names the journal.
func TestJournalNoSpaceIsReported(t *testing.T) {
	j, err := openJournalFile("/dev/full")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	err = j.write(testRun(0))
	if err == nil || !strings.Contains(err.Error(), "/dev/full") || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("write to /dev/full: %v, want an error naming it and the cause", err)
	}
}

// A non-finite value never costs the line: it is left out.
func TestJournalLeavesOutNonFiniteValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalName)
	j, err := openJournalFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := testRun(0)
	r.Values["decode_tps"] = math.Inf(1)
	if err := j.write(JournalHeader{Type: journalStart}); err != nil {
		t.Fatal(err)
	}
	if err := j.write(r); err != nil {
		t.Fatalf("write: %v", err)
	}
	j.Close()
	got, err := ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Runs[0].Values; len(v) != 1 || v["ttft_ms"] != 1 {
		t.Errorf("values read back %v, want only ttft_ms = 1", v)
	}
}

func tail(b []byte) []byte {
	if len(b) > 60 {
		return b[len(b)-60:]
	}
	return b
}
