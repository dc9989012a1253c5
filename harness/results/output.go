package results

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/attnbench/attnbench/internal/atomicfile"
	"github.com/attnbench/attnbench/internal/setting"
)

// Output is the destination of a sweep's rows.
//
// A file is never written in place: the rows go to a temporary file beside
// it (internal/atomicfile), each row in one write as soon as it is
// measured, and Close renames that file over the target, whether the
// sweep finished, was interrupted or failed. With resume, the complete rows
// the target already holds are copied in first (an unfinished last line is
// dropped). So the target holds either its old content or every row
// finished, never a half-written row; and a run that writes no row (every
// case skipped, refused, or stopped before the first sample) leaves it
// exactly as it was. A process killed outright (SIGKILL, the OOM killer)
// leaves the target as it was and its rows in the temporary file, which
// Prepare of the next run reports (Leftovers) and a resumed run continues
// from (Adopted).
type Output struct {
	path   string // "" for a writer given by the caller
	target string // path with symbolic links resolved: the file replaced
	format Format
	schema Schema
	resume bool
	prev   Existing

	mu      sync.Mutex // Write and Close may race on a second interrupt
	w       io.Writer  // nil until the first row
	tmp     *atomicfile.File
	written int64 // bytes of whole lines written to tmp
	enc     encoder
	pending []string // comments waiting for the next row
	rows    int
	closed  bool
	saved   bool // Close replaced the target
	// Leftovers are temporary files of this target that an earlier run
	// left behind (it was killed before it could rename them).
	Leftovers []string
	// Adopted is the leftover a resumed run continues from, in place of
	// the target ("" when none): the newest leftover newer than the
	// target, which holds what the killed run would have saved.
	Adopted string
	source  string // the file whose complete rows are copied in (resume)
}

// Prepare checks that path can be written in format and, with resume,
// reads the rows it already holds. It does not change the file. A missing
// parent directory is created.
func Prepare(path string, format Format, schema Schema, resume bool) (*Output, error) {
	o := &Output{path: path, target: path, format: format, schema: schema, resume: resume, prev: Existing{Done: map[string]int{}}}
	if path == "" {
		return nil, &setting.Error{Name: "o", Reason: "no output file given"}
	}
	dir := filepath.Dir(path)
	info, err := os.Stat(path)
	switch {
	case err == nil && !info.Mode().IsRegular():
		return nil, &setting.Error{Name: "o", Value: path, Reason: "not a regular file"}
	case err == nil:
		// A link is written through, as os.Create would: the file it
		// points to is replaced, not the link.
		if o.target, err = filepath.EvalSymlinks(path); err != nil {
			return nil, &setting.Error{Name: "o", Value: path, Err: unwrapPath(err)}
		}
		dir = filepath.Dir(o.target)
		// Opened for writing without truncation, then closed: the file
		// is replaced by a rename, but a file its owner made read-only
		// is not to be replaced.
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, &setting.Error{Name: "o", Value: path, Err: unwrapPath(err)}
		}
		f.Close()
		if resume {
			if o.prev, err = ReadExisting(path, format, schema); err != nil {
				return nil, err
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, &setting.Error{Name: "o", Value: path, Err: unwrapPath(err)}
		}
	default:
		return nil, &setting.Error{Name: "o", Value: path, Err: unwrapPath(err)}
	}
	// The rows go to a temporary file in the same directory, renamed
	// over path at the end: the directory must take new files.
	probe, err := os.CreateTemp(dir, ".attnbench-probe-*")
	if err != nil {
		return nil, &setting.Error{Name: "o", Value: path, Reason: "cannot create files in " + dir, Err: unwrapPath(err)}
	}
	probe.Close()
	os.Remove(probe.Name())
	o.Leftovers, _ = filepath.Glob(filepath.Join(dir, "."+globEscape(filepath.Base(o.target))+".tmp-*"))
	o.source = o.target
	if resume {
		o.adopt(format, schema, info)
	}
	return o, nil
}

// adopt makes a resumed run continue from the newest leftover that is
// newer than the target (target is nil when there is none) and reads as a
// results file: a run killed outright (SIGKILL, the OOM killer) then loses
// only the row it was measuring, as one stopped by SIGTERM does.
func (o *Output) adopt(format Format, schema Schema, target os.FileInfo) {
	var best string
	var bestTime time.Time
	for _, l := range o.Leftovers {
		st, err := os.Stat(l)
		if err != nil || !st.Mode().IsRegular() || target != nil && !st.ModTime().After(target.ModTime()) {
			continue
		}
		if best == "" || st.ModTime().After(bestTime) {
			best, bestTime = l, st.ModTime()
		}
	}
	if best == "" {
		return
	}
	ex, err := ReadExisting(best, format, schema)
	if err != nil {
		return // not the rows of a run of this format: left alone, reported
	}
	o.prev, o.source, o.Adopted = ex, best, best
	o.Leftovers = slices.DeleteFunc(o.Leftovers, func(l string) bool { return l == best })
}

// globEscape quotes the characters filepath.Match treats specially.
func globEscape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', '\\':
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// NewOutput returns an Output that writes to w (tests, pipes).
func NewOutput(w io.Writer, format Format, schema Schema) *Output {
	return &Output{format: format, schema: schema, w: w, prev: Existing{Done: map[string]int{}}}
}

// Done returns how many samples of each case name the file held already
// (with resume; empty otherwise).
func (o *Output) Done() map[string]int { return o.prev.Done }

// Dropped returns the unfinished last line of the resumed file that is
// left out ("" when there was none).
func (o *Output) Dropped() string { return o.prev.Dropped }

// Path returns the output's path ("" for a writer given to NewOutput).
func (o *Output) Path() string { return o.path }

// Rows returns the number of rows written by this Output.
func (o *Output) Rows() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.rows
}

// Comment records a line for the reader of a text file (a skipped case);
// it is written before the next row, or by Finish after at least one row.
// CSV and JSON files leave comments out.
func (o *Output) Comment(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending = append(o.pending, line)
}

// Write writes one row, starting the file first if this is the first row.
func (o *Output) Write(r Row) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return o.wrap(errors.New("written after Close"))
	}
	if err := o.open(); err != nil {
		return err
	}
	if err := o.flushComments(); err != nil {
		return err
	}
	if err := o.enc.row(o.w, r); err != nil {
		return o.fail(err)
	}
	o.rows++
	return nil
}

// Finish writes the remaining comments (when some row was written) and
// closes the output (see Close).
func (o *Output) Finish() error {
	o.mu.Lock()
	if o.enc != nil && !o.closed {
		if err := o.flushComments(); err != nil {
			o.mu.Unlock()
			return err
		}
	}
	o.mu.Unlock()
	return o.Close()
}

// Close ends the output, dropping comments not yet written: the rows
// written (after the resumed file's complete rows) replace the target.
// Without a new row the target is left as it was, unless a resume has
// something to put right: an unfinished last line to drop, or the rows of
// an adopted leftover. Close may be called more than once, and from
// another goroutine than Write.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	o.pending = nil
	if o.tmp == nil && o.w == nil && (o.Adopted != "" || o.resume && o.prev.Dropped != "") {
		// No new row, but the adopted rows belong in the target, and a
		// dropped line goes.
		if err := o.start(); err != nil {
			return err
		}
	}
	if o.tmp == nil {
		return nil
	}
	if err := o.tmp.Commit(); err != nil {
		return fmt.Errorf("%v (the rows were not saved; %s is as it was)", err, o.path)
	}
	o.saved = true
	if o.Adopted != "" {
		os.Remove(o.Adopted) // its rows are in the target now
	}
	return nil
}

// Saved reports whether Close replaced the target (false when it was left
// as it was, or for a writer given to NewOutput).
func (o *Output) Saved() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.saved
}

func (o *Output) flushComments() error {
	for _, c := range o.pending {
		if err := o.enc.comment(o.w, c); err != nil {
			return o.fail(err)
		}
	}
	o.pending = nil
	return nil
}

// fail cuts the temporary file back to its last whole line after a failed
// write, so Close still keeps every row written before.
func (o *Output) fail(err error) error {
	if o.tmp != nil {
		o.tmp.Truncate(o.written)
		o.tmp.Seek(o.written, io.SeekStart)
	}
	return o.wrap(err)
}

// open starts the temporary file: the resumed file's complete rows, then
// the header.
func (o *Output) open() error {
	if o.enc != nil {
		return nil
	}
	appending := false
	if o.w == nil {
		if err := o.start(); err != nil {
			return err
		}
		appending = o.resume && o.prev.Keep > 0
	}
	o.enc = newEncoder(o.format, o.schema, o.prev.Config)
	if err := o.enc.header(o.w, appending); err != nil {
		return o.fail(err)
	}
	return nil
}

// start creates the temporary file and, with resume, copies in the
// complete rows of the file resumed.
func (o *Output) start() error {
	f, err := atomicfile.Create(o.target)
	if err != nil {
		return o.wrap(err)
	}
	o.tmp = f
	o.w = &countingWriter{w: f, n: &o.written}
	if o.resume && o.prev.Keep > 0 {
		if err := copyPrefix(o.w, o.source, o.prev.Keep); err != nil {
			o.tmp.Abort()
			o.tmp, o.w = nil, nil
			return o.wrap(err)
		}
	}
	return nil
}

// copyPrefix copies the first n bytes of path to w.
func copyPrefix(w io.Writer, path string, n int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if got, err := io.Copy(w, io.LimitReader(f, n)); err != nil {
		return err
	} else if got != n {
		return fmt.Errorf("shrank to %d bytes while being resumed", got)
	}
	return nil
}

// countingWriter counts the bytes of the writes that succeeded whole.
type countingWriter struct {
	w io.Writer
	n *int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err == nil {
		*c.n += int64(n)
	}
	return n, err
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
