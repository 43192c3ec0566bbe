package dashboard_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shoal-cache/shoal/internal/testproc"
)

func TestMain(m *testing.M) { testproc.Main(m) }

// A real headless Chromium loads the endpoint's dashboard of a running
// 3-node cluster, reads the nodes it rendered, and sees a killed node turn
// failed within seconds.
func TestDashboardInChromium(t *testing.T) {
	chromium := testproc.Tool(t, "chromium", "chromium")
	cl := testproc.StartMetricsCluster(t, 3)
	url := "http://" + cl.Endpoint.Metrics + "/"

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1100, 700))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	states := func() string {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`[...document.querySelectorAll("#map .node")].map(n => n.querySelector(".pos").textContent + "=" + n.dataset.state).join(" ")`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	waitFor := func(what string, ok func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			s := states()
			if ok(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the page shows %q", what, s)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible("#map .node")); err != nil {
		t.Fatal(err)
	}
	waitFor("three active nodes", func(s string) bool { return s == "0=active 1=active 2=active" })
	// Charts are drawn for every node that answers.
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#charts tbody tr").length`))
	if err != nil || charts != 3 {
		t.Fatalf("%d rows of charts, %v; want 3", charts, err)
	}
	if path := os.Getenv("SHOAL_DASHBOARD_SCREENSHOT"); path != "" {
		time.Sleep(3 * time.Second) // a few points on the charts
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	killed := time.Now()
	cl.Nodes[1].Kill()
	got := waitFor("a killed node shown failed", func(s string) bool { return strings.Contains(s, "=failed") })
	t.Logf("%q %.1f s after the kill", got, time.Since(killed).Seconds())
	if strings.Count(got, "=active") != 2 {
		t.Errorf("after one kill the page shows %q, want the two others active", got)
	}
}
