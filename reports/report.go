package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/attnbench/attnbench/internal/atomicfile"
)

// Output says what Generate wrote.
type Output struct {
	Report *Report
	// Files are the paths written, index.html first.
	Files []string
	// Plots counts the plots drawn (each as PNG and SVG).
	Plots int
	// Notes are every note of the report: what was left out and why.
	Notes []string
}

// Generate reads the result files (paths may be "label=path"), and writes
// the plots, index.html and summary.md into dir, creating it if needed.
//
// Every file is written to a temporary file beside it and renamed over it
// (internal/atomicfile): a failed report leaves no half-written file, and
// an input is never overwritten (see CheckInputs).
func Generate(dir string, paths []string, opt Options) (*Output, error) {
	if err := CheckInputs(dir, paths); err != nil {
		return nil, err
	}
	d, err := load(paths, opt.Merge)
	if err != nil {
		return nil, err
	}
	r, err := Build(d, opt)
	if err != nil {
		return nil, err
	}
	return r.Write(dir)
}

// Write draws the report into dir.
func (r *Report) Write(dir string) (*Output, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := &Output{Report: r, Files: []string{filepath.Join(dir, "index.html"), filepath.Join(dir, "summary.md")}}
	out.Notes = append(out.Notes, r.Notes...)
	panels := make([][]panel, len(r.Groups))
	for gi, g := range r.Groups {
		prefix := ""
		if len(r.Groups) > 1 {
			prefix = g.Title + ": "
		}
		for _, n := range g.Notes {
			out.Notes = append(out.Notes, prefix+n)
		}
		panels[gi] = g.panels(r.opt)
		for i := range panels[gi] {
			p := &panels[gi][i]
			if p.fig != nil {
				if err := p.write(dir, g.Prefix); err != nil {
					return nil, err
				}
				out.Plots++
				out.Files = append(out.Files, filepath.Join(dir, p.png), filepath.Join(dir, p.svg))
			}
			for _, n := range p.notes {
				out.Notes = append(out.Notes, prefix+p.title+": "+n)
			}
			if p.fig == nil {
				out.Notes = append(out.Notes, fmt.Sprintf("%sno %s plot: %s", prefix, p.kind, p.missing))
			}
		}
	}
	var html, md bytes.Buffer
	if err := r.writeHTML(&html, panels); err != nil {
		return nil, err
	}
	if err := r.writeMarkdown(&md); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(out.Files[0], html.Bytes()); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(out.Files[1], md.Bytes()); err != nil {
		return nil, err
	}
	return out, nil
}

// write renders a panel's figure as PNG and SVG.
func (p *panel) write(dir, prefix string) error {
	png, err := p.fig.render("png")
	if err != nil {
		return err
	}
	svg, err := p.fig.render("svg")
	if err != nil {
		return err
	}
	p.png, p.svg, p.pngData = prefix+p.kind+".png", prefix+p.kind+".svg", png
	if err := atomicfile.WriteFile(filepath.Join(dir, p.png), png); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, p.svg), svg)
}

// PrepareDir checks, before anything is measured or drawn, that a report
// can be written into dir: it creates dir if needed and creates and
// removes a file in it. The error is one line naming dir.
func PrepareDir(dir string) error {
	if dir == "" {
		return errors.New("no report directory given")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report directory %s: %v", dir, unwrapPath(err))
	}
	probe, err := os.CreateTemp(dir, ".attnbench-probe-*")
	if err != nil {
		return fmt.Errorf("report directory %s: cannot create files in it: %v", dir, unwrapPath(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// Writes reports whether a report drawn into dir may write path: its
// index.html, summary.md, or a plot (.png, .svg) in dir.
func Writes(dir, path string) bool {
	d, err1 := filepath.Abs(dir)
	p, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil || filepath.Dir(p) != d {
		return false
	}
	base := filepath.Base(p)
	ext := strings.ToLower(filepath.Ext(base))
	return base == "index.html" || base == "summary.md" || ext == ".png" || ext == ".svg"
}

// CheckInputs refuses result files that a report drawn into dir would
// overwrite.
func CheckInputs(dir string, paths []string) error {
	for _, in := range parseInputs(paths) {
		if Writes(dir, in.path) {
			return fmt.Errorf("%s: the report in %s writes this file; move it or draw the report elsewhere", in.path, dir)
		}
	}
	return nil
}

// unwrapPath drops the path an *fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
