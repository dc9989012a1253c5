package results

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Output is the destination of a sweep's rows. It is prepared before
// anything runs, checking that the path can be written without touching
// an existing file; the file is created (replacing an old one) or appended
// to only when the first row is ready, so a run that fails its checks or is
// stopped before measuring anything leaves an existing file as it was.
type Output struct {
	path   string // "" for a writer given by the caller
	format Format
	schema Schema
	resume bool
	prev   Existing

	w       io.Writer // nil until the first row
	f       *os.File
	enc     encoder
	pending []string // comments waiting for the next row
	rows    int
}

// Prepare checks that path can be written in format and, with resume,
// reads the rows it already holds. It does not change the file. A missing
// parent directory is created.
func Prepare(path string, format Format, schema Schema, resume bool) (*Output, error) {
	o := &Output{path: path, format: format, schema: schema, resume: resume, prev: Existing{Done: map[string]int{}}}
	if path == "" {
		return nil, fmt.Errorf("-o: no output file given")
	}
	info, err := os.Stat(path)
	switch {
	case err == nil && !info.Mode().IsRegular():
		return nil, fmt.Errorf("-o %s: not a regular file", path)
	case err == nil:
		// Opened for writing without truncation, then closed: a permission
		// check that changes nothing.
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("-o %s: %v", path, unwrapPath(err))
		}
		f.Close()
		if resume {
			if o.prev, err = ReadExisting(path, format, schema); err != nil {
				return nil, err
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		dir := filepath.Dir(path)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("-o %s: %v", path, unwrapPath(err))
		}
		probe, err := os.CreateTemp(dir, ".attnbench-probe-*")
		if err != nil {
			return nil, fmt.Errorf("-o %s: cannot create files in %s: %v", path, dir, unwrapPath(err))
		}
		probe.Close()
		os.Remove(probe.Name())
	default:
		return nil, fmt.Errorf("-o %s: %v", path, unwrapPath(err))
	}
	return o, nil
}

// NewOutput returns an Output that writes to w (tests, pipes).
func NewOutput(w io.Writer, format Format, schema Schema) *Output {
	return &Output{format: format, schema: schema, w: w, prev: Existing{Done: map[string]int{}}}
}

// Done returns how many samples of each case name the file held already
// (with resume; empty otherwise).
func (o *Output) Done() map[string]int { return o.prev.Done }

// Path returns the output's path ("" for a writer given to NewOutput).
func (o *Output) Path() string { return o.path }

// Rows returns the number of rows written by this Output.
func (o *Output) Rows() int { return o.rows }

// Comment records a line for the reader of a text file (a skipped case);
// it is written before the next row or by Finish. CSV and JSON files leave
// comments out.
func (o *Output) Comment(line string) { o.pending = append(o.pending, line) }

// Write writes one row, opening the file first if this is the first row.
func (o *Output) Write(r Row) error {
	if err := o.open(); err != nil {
		return err
	}
	if err := o.flushComments(); err != nil {
		return err
	}
	if err := o.enc.row(o.w, r); err != nil {
		return o.wrap(err)
	}
	o.rows++
	return nil
}

// Finish writes the remaining comments and closes the file. When nothing
// at all was written, an existing file is left untouched.
func (o *Output) Finish() error {
	if len(o.pending) > 0 {
		if err := o.open(); err != nil {
			return err
		}
		if err := o.flushComments(); err != nil {
			return err
		}
	}
	return o.Close()
}

// Close closes the file, dropping comments not yet written (an
// interrupted run keeps its rows and nothing else).
func (o *Output) Close() error {
	o.pending = nil
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	return o.wrap(err)
}

func (o *Output) flushComments() error {
	for _, c := range o.pending {
		if err := o.enc.comment(o.w, c); err != nil {
			return o.wrap(err)
		}
	}
	o.pending = nil
	return nil
}

// open creates or appends to the file and writes its header.
func (o *Output) open() error {
	if o.enc != nil {
		return nil
	}
	var appending bool
	switch {
	case o.w != nil: // given to NewOutput
	case o.resume && o.prev.Size > 0:
		f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return o.wrap(err)
		}
		o.f, o.w, appending = f, f, true
		if !o.prev.EndsInNewline {
			// The last line was cut short by a kill: end it, so the
			// next row starts on a line of its own.
			if _, err := f.Write([]byte("\n")); err != nil {
				return o.wrap(err)
			}
		}
	default:
		f, err := os.Create(o.path)
		if err != nil {
			return o.wrap(err)
		}
		o.f, o.w = f, f
	}
	o.enc = newEncoder(o.format, o.schema, o.prev.Config)
	return o.wrap(o.enc.header(o.w, appending))
}

func (o *Output) wrap(err error) error {
	if err == nil || o.path == "" {
		return err
	}
	return fmt.Errorf("%s: %v", o.path, unwrapPath(err))
}

// unwrapPath drops the path an *fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
