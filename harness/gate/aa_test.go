package gate

import (
	"math"
	"testing"
)

// aaRates compares `trials` A/A pairs, both sides drawn from the same
// lognormal distributions (newSynth's four benchmarks, `noise` sigma,
// `count` samples a side), and returns the fraction of sec/op rows that
// were significant (either direction), the fraction the gate called
// regressions, and the fraction of whole gate runs (four rows each) that
// would have failed.
func aaRates(t *testing.T, trials, count int, noise float64, opt Options) (significant, rowAlarm, runAlarm float64) {
	t.Helper()
	var rows, sig, regs, runs int
	for i := range trials {
		base, new := newSynth(uint64(2*i+1000)), newSynth(uint64(2*i+1001))
		base.noise, new.noise = noise, noise
		base.count, new.count = count, count
		rep, err := compareText(base.text(), new.text(), opt)
		if err != nil {
			t.Fatal(err)
		}
		failed := false
		for _, r := range rep.Rows {
			if r.Unit != "sec/op" {
				continue
			}
			rows++
			if r.P < opt.Alpha {
				sig++
			}
			if r.Verdict == Regressed {
				regs++
				failed = true
			}
		}
		if failed {
			runs++
		}
	}
	return float64(sig) / float64(rows), float64(regs) / float64(rows), float64(runs) / float64(trials)
}

// TestAAFalseAlarmRate checks the statistics, not the clock: when BASE and
// NEW come from one distribution, the U test is significant in at most
// about alpha of the rows, and the gate (significance and a 5% threshold)
// fails far less often than alpha, per row and per run of four rows.
func TestAAFalseAlarmRate(t *testing.T) {
	const trials = 2000
	opt := DefaultOptions()
	sig, row, run := aaRates(t, trials, 10, 0.03, opt)
	t.Logf("A/A, lognormal 3%% noise, n=10+10, %d runs of 4 rows: significant rows %.4f, regression rows %.4f, failed runs %.4f",
		trials, sig, row, run)
	// The exact U test's size is at most alpha; allow three standard
	// errors of sampling noise in the measured rate.
	rows := float64(4 * trials)
	if slack := 3 * math.Sqrt(opt.Alpha*(1-opt.Alpha)/rows); sig > opt.Alpha+slack {
		t.Errorf("U test significant in %.4f of A/A rows, want ≤ alpha %v (+%.4f sampling slack)", sig, opt.Alpha, slack)
	}
	if run >= opt.Alpha {
		t.Errorf("gate failed %.4f of A/A runs, want < alpha %v", run, opt.Alpha)
	}

	// Noisier machines: 10% noise, where the threshold alone would be
	// crossed often. Significance must still keep runs mostly green.
	sig, row, run = aaRates(t, trials/2, 10, 0.10, opt)
	t.Logf("A/A, lognormal 10%% noise, n=10+10, %d runs of 4 rows: significant rows %.4f, regression rows %.4f, failed runs %.4f",
		trials/2, sig, row, run)
	if row >= opt.Alpha/2 {
		t.Errorf("gate called %.4f of A/A rows regressions at 10%% noise, want < alpha/2 = %v (one direction of a test of size alpha)", row, opt.Alpha/2)
	}
}
