package sweep

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/attnbench/attnbench/harness/timing"
)

// ProgressMode says how much a Progress prints.
type ProgressMode int

const (
	// Quiet prints only notes (skipped or failed cases).
	Quiet ProgressMode = iota
	// Lines prints a line as each case starts.
	Lines
	// Live keeps one status line up to date in place (a terminal).
	Live
)

// Progress reports a run on a writer (stderr): case i/N, elapsed time and
// an estimate of the time left, and notes about skipped or failed cases.
// A nil *Progress reports nothing.
type Progress struct {
	w    io.Writer
	mode ProgressMode

	began    time.Time
	cases    []Case
	cfg      Config
	left     []int // samples still to take, per case
	cur      int   // current case index
	shown    bool  // a live line is on screen
	rate     map[string]float64
	anyRate  float64 // flop per ns, last seen for any variant
	lastLine string
	short    []string // case names cut to the keys that vary
}

// NewProgress returns a Progress writing to w.
func NewProgress(w io.Writer, mode ProgressMode) *Progress {
	return &Progress{w: w, mode: mode, rate: map[string]float64{}}
}

func (p *Progress) start(cases []Case, cfg Config, done map[string]int) {
	if p == nil {
		return
	}
	p.began = time.Now()
	p.cases, p.cfg = cases, cfg
	p.left = make([]int, len(cases))
	for i, c := range cases {
		p.left[i] = max(0, cfg.Count-done[c.Name])
	}
	p.short = shortNames(cases)
}

// shortNames returns the names of cases with only the keys that differ
// between them ("variant=flash n=1024"), for a status line that fits.
func shortNames(cases []Case) []string {
	parts := make([][]string, len(cases))
	count := map[string]int{}
	for i, c := range cases {
		name := strings.TrimPrefix(c.Name, "Attention/")
		if p := runtime.GOMAXPROCS(0); p != 1 {
			name = strings.TrimSuffix(name, fmt.Sprintf("-%d", p))
		}
		parts[i] = strings.Split(name, "/")
		for _, kv := range parts[i] {
			count[kv]++
		}
	}
	out := make([]string, len(cases))
	for i, ps := range parts {
		var keep []string
		for _, kv := range ps {
			if count[kv] < len(cases) {
				keep = append(keep, kv)
			}
		}
		if len(keep) == 0 {
			keep = ps
		}
		out[i] = strings.Join(keep, " ")
	}
	return out
}

func (p *Progress) caseStart(i int, c Case) {
	if p == nil {
		return
	}
	p.cur = i
	p.draw()
}

// sample records a finished sample: one fewer to take, and the observed
// speed of the variant for the estimate of the time left.
func (p *Progress) sample(c Case, s timing.Sample, flops float64) {
	if p == nil {
		return
	}
	if p.left[p.cur] > 0 {
		p.left[p.cur]--
	}
	if ns := s.NsPerOp(); ns > 0 && flops > 0 {
		p.rate[c.Variant.Name()] = flops / ns
		p.anyRate = flops / ns
	}
	if p.mode == Live {
		p.draw()
	}
}

func (p *Progress) caseDone(i int) {
	if p == nil {
		return
	}
	p.left[i] = 0
}

// note prints a line that stays (a skipped or failed case), in every mode.
func (p *Progress) note(msg string) {
	if p == nil {
		return
	}
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
	fmt.Fprintln(p.w, "attnbench sweep: "+msg)
	if p.mode == Live && p.lastLine != "" {
		p.draw()
	}
}

func (p *Progress) finish() {
	if p == nil {
		return
	}
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

func (p *Progress) draw() {
	if p.mode == Quiet {
		return
	}
	elapsed := time.Since(p.began)
	left := "?"
	if d, ok := p.timeLeft(); ok {
		left = "~" + clock(d)
	}
	c := p.cases[p.cur]
	head := fmt.Sprintf("[%d/%d] %s elapsed, %s left  ", p.cur+1, len(p.cases), clock(elapsed), left)
	p.lastLine = head + c.Name
	if p.mode == Lines {
		fmt.Fprintln(p.w, p.lastLine)
		return
	}
	line := head + p.short[p.cur]
	// A line longer than the terminal would wrap, and \r would return to
	// its last row only: cut it to the width ($COLUMNS, else 80).
	width := 80
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 20 {
		width = c
	}
	if r := []rune(line); len(r) > width-1 {
		line = string(r[:width-2]) + "…"
	}
	fmt.Fprint(p.w, "\r\x1b[K"+line)
	p.shown = true
}

// timeLeft estimates the time the remaining samples take: each costs the
// benchmark time (×1.2, the overshoot of the iteration prediction) or one
// call when a call is longer; a case not started also costs a warm-up
// call. A call's time comes from the variant's flop count and its last
// observed speed (any variant's before it has run).
func (p *Progress) timeLeft() (time.Duration, bool) {
	var total float64 // ns
	for i := p.cur; i < len(p.cases); i++ {
		if p.left[i] == 0 {
			continue
		}
		c := p.cases[i]
		r := p.rate[c.Variant.Name()]
		if r == 0 {
			r = p.anyRate
		}
		if r == 0 {
			return 0, false
		}
		call := c.Variant.Flops(c.Shape, c.Opt) / r
		perSample := max(1.2*float64(p.cfg.BenchTime.D.Nanoseconds()), call)
		if n := p.cfg.BenchTime.N; n > 0 {
			perSample = float64(n) * call
		}
		total += float64(p.left[i]) * perSample
		if i > p.cur {
			total += call
		}
	}
	return time.Duration(total), true
}

// clock writes d as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
