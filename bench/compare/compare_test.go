package main

import (
	"encoding/xml"
	"os"
	"strings"
	"testing"
)

func TestParseProc(t *testing.T) {
	stat := []byte("4242 (mem cache) d) S 1 4242 4242 0 -1 4194560 650 0 0 0 123 45 0 0 20 0 7 0\n")
	if n, err := parseCPUTicks(stat); err != nil || n != 168 {
		t.Fatalf("parseCPUTicks = %d, %v; want 123+45", n, err)
	}
	if _, err := parseCPUTicks([]byte("4242 (x) S 1")); err == nil {
		t.Fatal("short stat accepted")
	}
	status := []byte("Name:\tmemcached\nVmPeak:\t  99 kB\nVmRSS:\t   10240 kB\nThreads: 7\n")
	if n, err := parseRSS(status); err != nil || n != 10240 {
		t.Fatalf("parseRSS = %d, %v", n, err)
	}
	self, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseCPUTicks(self); err != nil {
		t.Fatalf("this process's stat: %v", err)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func sampleReport() *report {
	rep := &report{A: "memcached", B: "shoal", Options: options{rounds: 3}, Workloads: workloads(0)[:2]}
	for round, f := range []float64{1, 3, 2} {
		for _, wl := range rep.Workloads {
			rep.Runs = append(rep.Runs,
				runResult{Round: round + 1, Workload: wl.name, Server: "memcached", Throughput: 100 * f, P99us: 10 * f, CPUusPerOp: 2, RSSMiB: 50},
				runResult{Round: round + 1, Workload: wl.name, Server: "shoal", Throughput: 150 * f, P99us: 12 * f, CPUusPerOp: 1, RSSMiB: 50})
		}
	}
	return rep
}

func TestTable(t *testing.T) {
	got := sampleReport().table()
	want := "| get90 | 200 | 300 | 1.50 | 20 | 24 | 1.20 ✗ | 2.00 | 1.00 | 0.50 | 50 | 50 | 1.00 |\n"
	if !strings.Contains(got, want) {
		t.Fatalf("table lacks %q:\n%s", want, got)
	}
}

func TestSVGIsWellFormed(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "*.svg")
	if err != nil {
		t.Fatal(err)
	}
	if err := sampleReport().writeSVG(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, _ := os.ReadFile(f.Name())
	d := xml.NewDecoder(strings.NewReader(string(b)))
	rects := 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("SVG: %v", err)
			}
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	// background, 2 workloads x 4 bars, 4 legend swatches
	if rects != 1+2*4+4 {
		t.Fatalf("%d rects in the chart", rects)
	}
}

func TestParseMachineBusy(t *testing.T) {
	stat := []byte("cpu  100 2 30 9999 5 6 7 8 0 0\ncpu0 1 0 0 0 0 0 0 0 0 0\n")
	if n, err := parseMachineBusy(stat); err != nil || n != 100+2+30+8 {
		t.Fatalf("parseMachineBusy = %d, %v; want user+nice+system+steal", n, err)
	}
	if _, err := parseMachineBusy([]byte("intr 1 2\n")); err == nil {
		t.Fatal("odd /proc/stat accepted")
	}
}

func TestParsePerfStat(t *testing.T) {
	out := []byte("\n666726,,raw_syscalls:sys_enter,3003591208,100.00,,\n416843,,syscalls:sys_enter_read,3003591208,100.00,,\n" +
		"<not supported>,,syscalls:sys_enter_sendmsg,0,100.00,,\n")
	got := parsePerfStat(out)
	if len(got) != 2 || got["all"] != 666726 || got["read"] != 416843 {
		t.Errorf("parsePerfStat = %v; want all 666726, read 416843 and nothing else", got)
	}
}
