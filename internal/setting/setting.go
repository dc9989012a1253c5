// Package setting holds the error for a bad value of a named setting: a
// variant parameter (window, buckets), a sweep list (n, kv-heads), a limit
// (max-mem), an output file (o). The library names the setting plainly;
// only the command line spells it as a flag (-window), so the library does
// not speak the command line's language and the command line does not pick
// library messages apart.
package setting

// Error is a bad value of the setting called Name. Its text is
// "Name Value: Reason: Err", each part left out when empty:
// "window -1: must be ≥ 0", "variants: no variant given",
// "inputs npy:DIR: no directory given".
type Error struct {
	Name   string // the setting, as docs/design.md names it (and the flag spells it)
	Value  string // the value as given, "" when the problem is not one value
	Reason string // what is wrong with it
	Err    error  // the cause, when there is one (variants.ErrUnsupported, a file's error)
}

func (e *Error) Error() string {
	s := e.Name
	if e.Value != "" {
		s += " " + e.Value
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause, so that errors.Is sees through to it.
func (e *Error) Unwrap() error { return e.Err }
