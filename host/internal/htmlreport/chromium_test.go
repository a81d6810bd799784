package htmlreport_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/internal/htmlreport"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// chromiumPath finds a headless-capable Chromium, or skips the test loudly.
// In CI (CI=true; .ci/run installs Chromium) a missing browser is a failure,
// so the browser check can never be skipped there unnoticed.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const missing = "no Chromium on PATH, so the HTML report was NOT checked in a browser; install it: apt-get install chromium"
	if os.Getenv("CI") == "true" {
		t.Fatal(missing + " (.ci/run installs it)")
	}
	t.Skip("SKIPPED: " + missing)
	return ""
}

// browse loads file in headless Chromium with args and returns stdout and
// the page's console messages (CSP violations, script errors, failed loads).
func browse(t *testing.T, chromium, file string, args ...string) (stdout []byte, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, chromium, append(append(base, args...), "file://"+file)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", file, err, lastLines(errb.String(), 10))
	}
	for _, line := range strings.Split(errb.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			console = append(console, line)
		}
	}
	return out.Bytes(), console
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var (
	chartSVG = regexp.MustCompile(`(?s)<svg class="chart"[^>]*>(.*?)</svg>`)
	// dataMark is a drawn path in one of the series colours (the palette,
	// and the red of invalid runs); axes and grid are grey.
	dataMark = regexp.MustCompile(`(?i)<path d="M[^"]+" style="[^"]*(stroke|fill):#(4E79A7|F28E2B|E15759|76B7B2|59A14F|EDC948|B07AA1|FF9DA7|9C755F|BAB0AC|CF222E)`)
)

// chartsWithData counts the report's chart SVGs in a DOM, and those that
// draw data: at least two marks in a series colour, not just axes and grid.
func chartsWithData(dom []byte) (total, withData int) {
	for _, m := range chartSVG.FindAllSubmatch(dom, -1) {
		total++
		if len(dataMark.FindAll(m[1], 3)) >= 2 {
			withData++
		}
	}
	return total, withData
}

func TestChromiumRendersReports(t *testing.T) {
	if testing.Short() {
		t.Skip("browser check skipped in -short mode")
	}
	chromium := chromiumPath(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		r    *result.Result
	}{
		// The merged page holds every phase's section, so every chart kind.
		{"phase5 merged", merged(t, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := render(t, tt.r)
			file := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".html")
			if err := os.WriteFile(file, page, 0o644); err != nil {
				t.Fatal(err)
			}
			dom, console := browse(t, chromium, file, "--dump-dom")
			if len(console) > 0 {
				t.Errorf("the page logged %d console message(s), want none:\n%s", len(console), strings.Join(console, "\n"))
			}
			want := 0
			for _, in := range append([]result.Input{{Result: tt.r}}, tt.r.Inputs...) {
				if in.Result == nil {
					continue
				}
				for _, c := range htmlreport.Charts(in.Result) {
					if c.SVG != "" {
						want++
					}
				}
			}
			total, withData := chartsWithData(dom)
			if total != want || withData != want {
				t.Errorf("the rendered DOM holds %d chart SVGs, %d with data; want %d, all with data", total, withData, want)
			}
			if !bytes.Contains(dom, []byte("Metric definitions")) {
				t.Error("the rendered DOM lacks the metric definitions")
			}
		})
	}

	t.Run("screenshot is not blank", func(t *testing.T) {
		file := filepath.Join(dir, "phase5-merged.html")
		shot := filepath.Join(dir, "phase5.png")
		browse(t, chromium, file, "--window-size=1280,2400", "--screenshot="+shot)
		f, err := os.Open(shot)
		if err != nil {
			t.Fatalf("no screenshot: %v", err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		colors := map[[3]uint32]bool{}
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y += 3 {
			for x := b.Min.X; x < b.Max.X; x += 3 {
				r, g, bl, _ := img.At(x, y).RGBA()
				colors[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			}
		}
		if len(colors) < 50 {
			t.Errorf("the screenshot has %d colours: the page rendered (nearly) blank", len(colors))
		}
		if dst := os.Getenv("PIPE_SCREENSHOT"); dst != "" {
			data, _ := os.ReadFile(shot)
			_ = os.WriteFile(dst, data, 0o644)
		}
	})
}

// TestChromiumCheckCatchesBrokenPages proves the browser check can fail: a
// page that fetches from the network and carries a chart without data must
// be caught.
func TestChromiumCheckCatchesBrokenPages(t *testing.T) {
	if testing.Short() {
		t.Skip("browser check skipped in -short mode")
	}
	chromium := chromiumPath(t)
	file := filepath.Join(t.TempDir(), "broken.html")
	var b bytes.Buffer
	if err := htmlreport.Render(&b, phase(t, "phase1-quick")); err != nil {
		t.Fatal(err)
	}
	page := strings.Replace(b.String(), "</main>",
		`<img src="https://cdn.example.com/chart.png"><svg class="chart" viewBox="0 0 10 10"><path d="M0 0L1 1"/></svg></main>`, 1)
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, console := browse(t, chromium, file, "--dump-dom")
	if len(console) == 0 || !strings.Contains(strings.Join(console, "\n"), "cdn.example.com") {
		t.Errorf("a network fetch went unreported; console: %q", console)
	}
	total, withData := chartsWithData(dom)
	if total-withData != 1 {
		t.Errorf("charts without data: %d, want the injected empty chart found", total-withData)
	}
}
