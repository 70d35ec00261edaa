package report

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness/timeline/timelinetest"
)

// chromiumNames are the executables tried, in order.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

var installOnce sync.Once

// ensureChromium returns a headless-capable Chromium, installing Debian's
// chromium package with apt-get when none is on PATH and we are root. When
// there is none and it cannot be installed, the test fails under CI=true and
// is skipped (loudly) otherwise.
func ensureChromium(t *testing.T) string {
	t.Helper()
	find := func() string {
		for _, n := range chromiumNames {
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
		}
		return ""
	}
	if p := find(); p != "" {
		return p
	}
	var installErr error
	installOnce.Do(func() {
		if os.Geteuid() != 0 {
			installErr = fmt.Errorf("not root, cannot apt-get install chromium")
			return
		}
		t.Log("chromium not on PATH: running apt-get update && apt-get install -y chromium (this takes a while)")
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-c", "apt-get update && apt-get install -y chromium")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			tail := out
			if len(tail) > 2000 {
				tail = tail[len(tail)-2000:]
			}
			installErr = fmt.Errorf("apt-get install chromium: %w\n%s", err, tail)
		}
	})
	if p := find(); p != "" {
		return p
	}
	if installErr == nil {
		installErr = fmt.Errorf("chromium still not on PATH after installing")
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("BROWSER TEST CANNOT RUN: %v", installErr)
	}
	t.Skipf("\n\n*** SKIPPING THE BROWSER TEST: no chromium (%v).\n*** The HTML report is NOT checked in a real browser. Install Debian's chromium to run it. ***\n", installErr)
	return ""
}

// chromium runs a headless Chromium with args on url and returns its stdout
// and stderr. Each run has its own profile, so runs never share a lock.
func chromium(t *testing.T, bin string, url string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), url)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", bin, args, err, errb.String())
	}
	return out.String(), errb.String()
}

// consoleErrors returns the lines of a Chromium log that report page console
// messages or uncaught exceptions: the report has no script, so any is a defect.
func consoleErrors(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, ":CONSOLE") || strings.Contains(l, "Uncaught") {
			out = append(out, l)
		}
	}
	return out
}

// TestBrowserRendersHTMLReport opens the HTML report in a real headless
// Chromium: the DOM must hold the chart's SVG elements, the console must stay
// silent, and a screenshot must show the chart's colours. Skipped by -short.
func TestBrowserRendersHTMLReport(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	bin := ensureChromium(t)
	dir := t.TempDir()
	files, err := WriteDir(dir, "incident", timelinetest.Incident().Snapshot(), incidentOpts())
	if err != nil {
		t.Fatal(err)
	}
	url := "file://" + files.HTML

	t.Run("the DOM holds the chart", func(t *testing.T) {
		dom, stderr := chromium(t, bin, url, "--dump-dom")
		for _, want := range []string{
			`<svg id="timeline-chart"`, `class="fault-band"`, `class="operator-marker"`, `class="record-empty"`,
			`class="health-impaired"`, `class="impact-window"`, `data-component="nlb"`, `id="phases"`, `id="fidelity"`,
		} {
			if !strings.Contains(dom, want) {
				t.Errorf("rendered DOM lacks %s", want)
			}
		}
		// the SVG was parsed as SVG: its elements survive with their content
		if n := strings.Count(dom, "<rect "); n < 50 {
			t.Errorf("rendered DOM has %d rects, want the chart's many", n)
		}
		if errs := consoleErrors(stderr); len(errs) > 0 {
			t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
		}
	})

	t.Run("console errors are detected", func(t *testing.T) {
		// a control: the check above must be able to fail
		bad := filepath.Join(dir, "bad.html")
		if err := os.WriteFile(bad, []byte(`<html><body><script>undefinedFn()</script></body></html>`), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr := chromium(t, bin, "file://"+bad, "--dump-dom")
		if len(consoleErrors(stderr)) == 0 {
			t.Fatalf("an uncaught exception went unnoticed; log:\n%s", stderr)
		}
	})

	t.Run("a screenshot shows the chart", func(t *testing.T) {
		shot := filepath.Join(dir, "incident.png")
		chromium(t, bin, url, "--window-size=1280,1000", "--screenshot="+shot)
		if out := os.Getenv("CASCADE_REPORT_DIR"); out != "" {
			_ = os.MkdirAll(out, 0o755)
			if b, err := os.ReadFile(shot); err == nil {
				_ = os.WriteFile(filepath.Join(out, "browser-incident.png"), b, 0o644)
			}
		}
		f, err := os.Open(shot)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("screenshot is not a PNG: %v", err)
		}
		st := pixelStats(img)
		t.Logf("screenshot %v: luminance variance %.0f, healthy %d, impaired %d, fault %d, operator %d pixels",
			img.Bounds().Size(), st.variance, st.count[colHealthy], st.count[colImpaired], st.count[colFault], st.count[colOperator])
		if b := img.Bounds().Size(); b.X < 1000 || b.Y < 600 {
			t.Errorf("screenshot is %v", b)
		}
		if st.variance < 100 {
			t.Errorf("screenshot is nearly uniform (variance %.1f)", st.variance)
		}
		// the chart's own colours must be on screen: health bars and record
		// state in green and red, fault bands, operator markers
		for col, min := range map[string]int{colHealthy: 5000, colImpaired: 3000, colWindow: 500, colOperator: 100} {
			if st.count[col] < min {
				t.Errorf("screenshot has %d pixels of %s, want at least %d", st.count[col], col, min)
			}
		}
	})
}

type stats struct {
	variance float64
	count    map[string]int
}

// pixelStats computes the luminance variance of img and counts the pixels
// close to each chart colour.
func pixelStats(img image.Image) stats {
	cols := []string{colHealthy, colImpaired, colWindow, colFault, colOperator}
	rgb := make([][3]int, len(cols))
	for i, c := range cols {
		fmt.Sscanf(c, "#%02x%02x%02x", &rgb[i][0], &rgb[i][1], &rgb[i][2])
	}
	st := stats{count: map[string]int{}}
	var n, sum, sumSq float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r8, g8, b8 := int(r>>8), int(g>>8), int(bl>>8)
			l := 0.299*float64(r8) + 0.587*float64(g8) + 0.114*float64(b8)
			n++
			sum += l
			sumSq += l * l
			for i, c := range rgb {
				if abs(r8-c[0]) <= 10 && abs(g8-c[1]) <= 10 && abs(b8-c[2]) <= 10 {
					st.count[cols[i]]++
				}
			}
		}
	}
	mean := sum / n
	st.variance = sumSq/n - mean*mean
	return st
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// TestPixelStatsDetectsUniformImages checks the screenshot check itself: a
// blank page must fail it.
func TestPixelStatsDetectsUniformImages(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 50, 50))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	if st := pixelStats(img); st.variance > 0.001 || st.count[colHealthy] != 0 {
		t.Fatalf("uniform white image: %+v", st)
	}
}
