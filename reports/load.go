package reports

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/perf/benchfmt"

	"github.com/attnbench/attnbench/internal/atomicfile"
)

// labelKey is the configuration key Load gives results read from a
// "label=path" argument. Its leading dot keeps it apart from keys a file can
// set itself.
const labelKey = ".label"

// Data holds the attention results read from a set of files.
type Data struct {
	results []*benchfmt.Result
	// Notes says what was left out while reading.
	Notes []string
}

// input is one command-line file argument, split as benchfmt.Files splits it.
type input struct {
	path, label string
	labeled     bool
}

// parseInputs mirrors how benchfmt.Files names each input in its ".file"
// key (label=path, or the path, disambiguated with #N when repeated), so
// results can be traced back to their argument.
func parseInputs(paths []string) []input {
	count := map[string]int{}
	ins := make([]input, len(paths))
	for i, p := range paths {
		if label, path, ok := strings.Cut(p, "="); ok {
			ins[i] = input{path: path, label: label, labeled: true}
			continue
		}
		ins[i] = input{path: p, label: p}
		count[p]++
	}
	seen := map[string]int{}
	for i := range ins {
		in := &ins[i]
		if in.labeled || count[in.path] == 1 {
			continue
		}
		in.label = fmt.Sprintf("%s#%d", in.path, seen[in.path])
		seen[in.path]++
	}
	return ins
}

// Load reads result files. A path may be "label=path": results from a
// labelled file are never mixed with results from other files, even from
// the same machine (use it to compare commits).
//
// A file that cannot be read, a syntax error (reported as file:line), or a
// file without a single benchmark line is an error; benchmark lines that
// are not attention results (no /variant= key) are left out with a note.
//
// Samples are pooled only where that is asked for: the same file given
// twice is refused (it would count each sample twice and narrow every
// interval falsely), and so are two files under one label, or two
// unlabelled files that hold the same benchmark from the same machine.
// LoadMerge pools the last two.
func Load(paths []string) (*Data, error) { return load(paths, false) }

// LoadMerge is Load that pools the samples of different files under one
// label, or from one machine (shards, or repeated runs of one sweep). The
// same file given twice is still refused.
func LoadMerge(paths []string) (*Data, error) { return load(paths, true) }

func load(paths []string, merge bool) (*Data, error) {
	if len(paths) == 0 {
		return nil, errors.New("no result files given")
	}
	ins := parseInputs(paths)
	byFile := map[string]*input{}
	byLabel := map[string]int{}
	for i, in := range ins {
		// Check every file before reading any, so a typo in the last of
		// several large files is reported at once.
		st, err := os.Stat(in.path)
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			return nil, fmt.Errorf("%s: is a directory, not a results file", in.path)
		}
		for j := range i {
			if atomicfile.SameFile(ins[j].path, in.path) {
				return nil, fmt.Errorf("%s: given twice (as %s and %s): its samples would be read twice", in.path, paths[j], paths[i])
			}
		}
		if in.labeled {
			if j, dup := byLabel[in.label]; dup && !merge {
				return nil, fmt.Errorf("label %q: given to %s and %s; give each its own label, or -merge to pool their samples", in.label, ins[j].path, in.path)
			}
			byLabel[in.label] = i
		}
		byFile[in.label] = &ins[i]
	}
	benchLines := map[string]int{} // by .file
	otherLines := map[string]int{}
	var syntaxErrs []*benchfmt.SyntaxError

	// The file each benchmark of each machine came from: two files of
	// one machine are pooled by Build, which only -merge may ask for.
	firstFile := map[string]string{}

	d := &Data{}
	files := benchfmt.Files{Paths: paths, AllowLabels: true}
	for files.Scan() {
		switch rec := files.Result().(type) {
		case *benchfmt.SyntaxError:
			syntaxErrs = append(syntaxErrs, rec)
		case *benchfmt.Result:
			file := rec.GetConfig(".file")
			benchLines[file]++
			if !hasNameKey(rec.Name, "variant") {
				otherLines[file]++
				continue
			}
			res := rec.Clone()
			in := byFile[file]
			if in != nil && in.labeled {
				res.SetConfig(labelKey, in.label)
			}
			if in != nil && !in.labeled && !merge {
				key := strings.Join([]string{res.GetConfig("goos"), res.GetConfig("goarch"), res.GetConfig("cpu"),
					res.GetConfig("kernels"), res.GetConfig("attnbench"), string(res.Name)}, "\x00")
				if first, ok := firstFile[key]; !ok {
					firstFile[key] = in.path
				} else if first != in.path {
					return nil, fmt.Errorf("%s and %s both hold Benchmark%s from one machine: label them (old=%s new=%s) to compare, or -merge to pool their samples",
						first, in.path, res.Name, first, in.path)
				}
			}
			if name := res.GetConfig(patternsKey); name != "" && in != nil {
				res.SetConfig(patternsPathKey, patternsPath(in.path, name))
			}
			d.results = append(d.results, res)
		}
	}
	if err := files.Err(); err != nil {
		return nil, err
	}
	if len(syntaxErrs) > 0 {
		e := syntaxErrs[0]
		msg := fmt.Sprintf("%s:%d: syntax error: %s", e.FileName, e.Line, e.Msg)
		if n := len(syntaxErrs) - 1; n > 0 {
			msg += fmt.Sprintf(" (and %d more)", n)
		}
		return nil, errors.New(msg)
	}
	for _, in := range ins {
		if benchLines[in.label] == 0 {
			return nil, fmt.Errorf("%s: no benchmark lines", in.path)
		}
		if n := otherLines[in.label]; n > 0 {
			d.Notes = append(d.Notes, fmt.Sprintf("%s: %d benchmark lines without a /variant= key are not attention results and were left out", in.path, n))
		}
	}
	if len(d.results) == 0 {
		return nil, errors.New("no attention results (benchmark names with /variant=…) in " + strings.Join(paths, ", "))
	}
	return d, nil
}

// hasNameKey reports whether a benchmark name has a /key=value part.
func hasNameKey(name benchfmt.Name, key string) bool {
	_, parts := name.Parts()
	for _, p := range parts {
		if len(p) < 2 || p[0] != '/' {
			continue
		}
		if k, _, ok := strings.Cut(string(p[1:]), "="); ok && k == key {
			return true
		}
	}
	return false
}
