package bench

import (
	"math"
	"math/rand/v2"
	"testing"
)

// zipfProbs is the exact distribution of ranks 1..n under exponent s.
func zipfProbs(n int, s float64) []float64 {
	p := make([]float64, n)
	sum := 0.0
	for k := 1; k <= n; k++ {
		p[k-1] = math.Pow(float64(k), -s)
		sum += p[k-1]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

func TestZipfMatchesTheory(t *testing.T) {
	const n, draws = 1000, 200000
	for _, s := range []float64{0.5, 0.99, 1.0, 1.2, 2.0} {
		z := newZipf(n, s)
		r := rand.New(rand.NewPCG(7, 11))
		counts := make([]int, n)
		for i := 0; i < draws; i++ {
			k := z.rank(r)
			if k < 1 || k > n {
				t.Fatalf("s=%v: rank %d out of [1, %d]", s, k, n)
			}
			counts[k-1]++
		}
		p := zipfProbs(n, s)
		// Rank 1's frequency within 5 standard deviations of theory.
		f1 := float64(counts[0]) / draws
		sd := math.Sqrt(p[0] * (1 - p[0]) / draws)
		if math.Abs(f1-p[0]) > 5*sd {
			t.Errorf("s=%v: rank 1 drawn %.4f of the time, theory %.4f (sd %.4f)", s, f1, p[0], sd)
		}
		// Chi-square over ranks 1..20 and the rest: 20 degrees of freedom,
		// 45.3 is the 0.1% critical value.
		chi, restObs, restExp := 0.0, float64(draws), 1.0
		for k := 0; k < 20; k++ {
			e := p[k] * draws
			chi += sq(float64(counts[k])-e) / e
			restObs -= float64(counts[k])
			restExp -= p[k]
		}
		if restExp*draws > 5 {
			chi += sq(restObs-restExp*draws) / (restExp * draws)
		}
		if chi > 45.3 {
			t.Errorf("s=%v: chi-square %.1f over the 20 first ranks, want < 45.3", s, chi)
		}
	}
}

func TestZipfLargeKeySpace(t *testing.T) {
	// Set-up is constant time, and ranks stay in range at the far end.
	z := newZipf(1<<40, 0.99)
	r := rand.New(rand.NewPCG(1, 2))
	ones := 0
	for i := 0; i < 10000; i++ {
		k := z.rank(r)
		if k < 1 || k > 1<<40 {
			t.Fatalf("rank %d out of range", k)
		}
		if k == 1 {
			ones++
		}
	}
	if ones == 0 {
		t.Fatal("rank 1 never drawn: not zipfian")
	}
}

func TestUniformChiSquare(t *testing.T) {
	const n, draws = 100, 100000
	ks := newKeySpace(&Config{Keys: n, Dist: Uniform})
	r := rand.New(rand.NewPCG(3, 4))
	counts := make([]int, n)
	for i := 0; i < draws; i++ {
		counts[ks.draw(r)]++
	}
	e := float64(draws) / n
	chi := 0.0
	for _, c := range counts {
		chi += sq(float64(c)-e) / e
	}
	// 99 degrees of freedom: 148.2 is the 0.1% critical value.
	if chi > 148.2 {
		t.Fatalf("chi-square %.1f, want < 148.2", chi)
	}
}

func TestZipfianKeySpaceMostPopularFirst(t *testing.T) {
	ks := newKeySpace(&Config{Keys: 50, Dist: Zipfian, ZipfSkew: 1.5})
	r := rand.New(rand.NewPCG(5, 6))
	counts := make([]int, 50)
	for i := 0; i < 20000; i++ {
		counts[ks.draw(r)]++
	}
	if counts[0] <= counts[1] || counts[1] <= counts[10] {
		t.Fatalf("index 0 should be drawn most, then 1, ...: %v", counts[:12])
	}
}

func TestKeySpelling(t *testing.T) {
	ks := newKeySpace(&Config{Keys: 10, KeyPrefix: "k:"})
	if got := string(ks.appendKey([]byte("x"), 12345)); got != "xk:12345" {
		t.Fatalf("got %q", got)
	}
}

func TestServerOfSpreads(t *testing.T) {
	ks := newKeySpace(&Config{Keys: 30000, KeyPrefix: "key:"})
	per := make([]int, 3)
	var buf []byte
	for i := uint64(0); i < 30000; i++ {
		buf = ks.appendKey(buf[:0], i)
		s := serverOf(buf, 3)
		if s != serverOf(buf, 3) {
			t.Fatal("serverOf is not stable")
		}
		per[s]++
	}
	for s, n := range per {
		if n < 9000 || n > 11000 {
			t.Fatalf("server %d has %d of 30000 keys: %v", s, n, per)
		}
	}
	if serverOf([]byte("anything"), 1) != 0 {
		t.Fatal("one server takes every key")
	}
}

func sq(x float64) float64 { return x * x }
