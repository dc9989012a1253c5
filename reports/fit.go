package reports

import (
	"math"
	"slices"
)

// logLogSlope is the least-squares slope of log y against log x: the
// exponent p of y ≈ c·x^p. It needs two distinct positive x and positive y;
// other points are skipped.
func logLogSlope(xs, ys []float64) (slope float64, ok bool) {
	var lx, ly []float64
	for i := range xs {
		if xs[i] > 0 && ys[i] > 0 {
			lx = append(lx, math.Log(xs[i]))
			ly = append(ly, math.Log(ys[i]))
		}
	}
	if len(lx) < 2 {
		return 0, false
	}
	mx, my := mean(lx), mean(ly)
	var sxy, sxx float64
	for i := range lx {
		sxy += (lx[i] - mx) * (ly[i] - my)
		sxx += (lx[i] - mx) * (lx[i] - mx)
	}
	if sxx == 0 {
		return 0, false
	}
	return sxy / sxx, true
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// crossovers returns the x where ratio crosses 1, for points sorted by x,
// interpolating linearly in log x–log ratio space, where a power law is a
// straight line. A point exactly at 1 between points on opposite sides is a
// crossover itself.
func crossovers(xs, ratios []float64) []float64 {
	var out []float64
	for i := 0; i+1 < len(xs); i++ {
		a, b := math.Log(ratios[i]), math.Log(ratios[i+1])
		switch {
		case a == 0:
			if i > 0 && math.Log(ratios[i-1])*b < 0 {
				out = append(out, xs[i])
			}
		case a*b < 0:
			la, lb := math.Log(xs[i]), math.Log(xs[i+1])
			out = append(out, math.Exp(la+(lb-la)*(0-a)/(b-a)))
		}
	}
	return out
}

// paretoFront marks the points that no other point beats on both cost and
// error (lower is better for both). Of exact duplicates only one is marked.
func paretoFront(cost, err []float64) []bool {
	idx := make([]int, len(cost))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if cost[a] != cost[b] {
			return cmpFloat(cost[a], cost[b])
		}
		return cmpFloat(err[a], err[b])
	})
	front := make([]bool, len(cost))
	best := math.Inf(1)
	for _, i := range idx {
		if err[i] < best {
			front[i] = true
			best = err[i]
		}
	}
	return front
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
