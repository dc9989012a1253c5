package setting

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

// TestErrorText checks the text of each combination of parts against the
// form written out by hand.
func TestErrorText(t *testing.T) {
	for _, c := range []struct {
		err  Error
		want string
	}{
		{Error{Name: "window", Value: "-1", Reason: "must be ≥ 0"}, "window -1: must be ≥ 0"},
		{Error{Name: "variants", Reason: "no variant given"}, "variants: no variant given"},
		{Error{Name: "o", Value: "r.txt", Err: fs.ErrPermission}, "o r.txt: permission denied"},
		{Error{Name: "block", Value: "64", Reason: "larger than n=16", Err: errors.New("not supported")}, "block 64: larger than n=16: not supported"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%#v: %q, want %q", c.err, got, c.want)
		}
	}
}

// TestErrorWraps: a wrapped setting error is found by errors.As, and its
// cause by errors.Is.
func TestErrorWraps(t *testing.T) {
	err := fmt.Errorf("case 3: %w", &Error{Name: "o", Value: "r.txt", Err: fs.ErrPermission})
	var se *Error
	if !errors.As(err, &se) || se.Name != "o" {
		t.Fatalf("errors.As found %v", se)
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Error("errors.Is does not see the cause")
	}
	if errors.Is(&Error{Name: "n"}, fs.ErrPermission) {
		t.Error("an error without a cause matches one")
	}
}
