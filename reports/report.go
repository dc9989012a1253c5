package reports

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
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
func Generate(dir string, paths []string, opt Options) (*Output, error) {
	d, err := Load(paths)
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
	if err := os.WriteFile(out.Files[0], html.Bytes(), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(out.Files[1], md.Bytes(), 0o644); err != nil {
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
	if err := os.WriteFile(filepath.Join(dir, p.png), png, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, p.svg), svg, 0o644)
}
