// Package atomicfile writes a file so that readers see either its old
// content or the complete new one, never a half-written file: the data goes
// to a temporary file beside the target, which is synced and renamed over it
// only on Commit. A failed or abandoned write leaves the old file as it was.
package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is a pending replacement of Path.
type File struct {
	*os.File
	Path string
	done bool
}

// Create starts a replacement of path. The temporary file is created in
// path's directory (so the rename stays on one file system) with the mode of
// the existing file, or 0644.
func Create(path string) (*File, error) {
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", path)
		}
		mode = st.Mode().Perm()
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return &File{File: tmp, Path: path}, nil
}

// Commit syncs the temporary file and renames it over Path.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("%s: already committed or aborted", f.Path)
	}
	f.done = true
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.File.Name(), f.Path)
	}
	if err != nil {
		os.Remove(f.File.Name())
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	return nil
}

// Abort removes the temporary file, leaving Path as it was. It is safe to
// call after Commit (it then does nothing), so it can be deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.File.Name())
}

// WriteFile writes data to path atomically.
func WriteFile(path string, data []byte) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}

// SameFile reports whether paths a and b name one file: the same absolute
// path once cleaned (whether or not it exists), or one existing file
// reached through a link. Commands use it to refuse writing over one of
// their own inputs, and to refuse reading one input twice.
func SameFile(a, b string) bool {
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	if errA == nil && errB == nil && absA == absB {
		return true
	}
	stA, errA := os.Stat(a)
	stB, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(stA, stB)
}
