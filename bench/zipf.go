package bench

import (
	"math"
	"math/rand/v2"
)

// zipf draws ranks 1..n with probability proportional to rank^-s, for any
// s > 0. math/rand's Zipf needs s > 1, while cache workloads are usually
// described with s just below 1 (YCSB's 0.99), and YCSB's own generator
// needs a sum over the whole key space up front. This is rejection-inversion
// sampling (Hörmann and Derflinger, 1996), as in Apache Commons RNG: constant
// set-up, about one uniform draw per sample.
type zipf struct {
	n, s   float64
	hx1    float64 // H(1.5) - 1
	hn     float64 // H(n + 0.5)
	accept float64 // draws this close to their rank are accepted at once
}

func newZipf(n uint64, s float64) *zipf {
	z := &zipf{n: float64(n), s: s}
	z.hx1 = z.hIntegral(1.5) - 1
	z.hn = z.hIntegral(z.n + 0.5)
	z.accept = 2 - z.hIntegralInverse(z.hIntegral(2.5)-z.h(2))
	return z
}

// rank draws a rank in [1, n].
func (z *zipf) rank(r *rand.Rand) uint64 {
	for {
		u := z.hn + r.Float64()*(z.hx1-z.hn)
		x := z.hIntegralInverse(u)
		k := math.Floor(x + 0.5)
		if k < 1 {
			k = 1
		} else if k > z.n {
			k = z.n
		}
		if k-x <= z.accept || u >= z.hIntegral(k+0.5)-z.h(k) {
			return uint64(k)
		}
	}
}

// h is the (unnormalised) density x^-s.
func (z *zipf) h(x float64) float64 { return math.Exp(-z.s * math.Log(x)) }

// hIntegral is an antiderivative of h: (x^(1-s) - 1) / (1-s), or log x at
// s = 1, written so that it stays accurate near s = 1.
func (z *zipf) hIntegral(x float64) float64 {
	lx := math.Log(x)
	return expm1x((1-z.s)*lx) * lx
}

func (z *zipf) hIntegralInverse(x float64) float64 {
	t := x * (1 - z.s)
	if t < -1 {
		t = -1 // rounding can push t just past the pole
	}
	return math.Exp(log1px(t) * x)
}

// log1px is log(1+x)/x, continuous at 0.
func log1px(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Log1p(x) / x
	}
	return 1 - x*(0.5-x*(1.0/3-0.25*x))
}

// expm1x is (e^x - 1)/x, continuous at 0.
func expm1x(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Expm1(x) / x
	}
	return 1 + x*0.5*(1+x*(1.0/3)*(1+0.25*x))
}
