// Command attnbench benchmarks attention variants: speed, memory, scaling
// and numerical error, on the machine it runs on.
//
// The command is thin: each subcommand parses its flags and calls into
// harness/, variants/ or reports/. Subcommands live one per file and add
// themselves to the table with register.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/attnbench/attnbench/harness/guard"
	"github.com/attnbench/attnbench/internal/setting"
)

// Exit codes, as docs/design.md §6 defines them.
const (
	exitOK       = 0
	exitCheck    = 1 // a check failed: parity, gate
	exitBadInput = 2 // bad usage or bad input
)

// command is one subcommand of attnbench.
type command struct {
	name    string
	summary string
	// run executes the command. An error made by checkFailed exits 1; any
	// other error (badInput's, or one passed up from the library) exits 2,
	// because every failure a command can hit before it has produced a
	// result is a problem with what it was given.
	run func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("attnbench: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// errCheckFailed is returned (wrapped) by commands whose check failed.
var errCheckFailed = errors.New("check failed")

// checkFailed reports a failed check (exit 1).
func checkFailed(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errCheckFailed}, a...)...)
}

// badInput reports bad usage or input (exit 2). Wrap a library error with
// %w, so that flagMessage finds the setting it names.
func badInput(format string, a ...any) error {
	return fmt.Errorf(format, a...)
}

// flagMessage is err's text in the command line's words: the setting a
// library error names (a *setting.Error, "window -1: must be ≥ 0") is
// spelled as its flag ("-window -1: must be ≥ 0"), wherever the wrapping
// puts it.
func flagMessage(err error) string {
	msg := err.Error()
	var bad *setting.Error
	if !errors.As(err, &bad) {
		return msg
	}
	if i := strings.LastIndex(msg, bad.Error()); i >= 0 {
		return msg[:i] + "-" + msg[i:]
	}
	return msg
}

// helpAsked is set when the command line asks for help, so that flag
// sets print their defaults then and only then: a bad flag gets one line.
var helpAsked bool

// newFlagSet returns a flag set that reports errors instead of exiting, so
// that every bad flag ends in one clear line and exit code 2.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("attnbench "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the error comes back from Parse; run prints it once
	fs.Usage = func() {
		if !helpAsked {
			return
		}
		fmt.Fprintf(stderr, "usage: attnbench %s [flags]\n\n%s\n\nflags:\n", name, commands[name].summary)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: attnbench <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'attnbench <command> -h' for a command's flags.")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process exit, so tests can drive the CLI.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitBadInput
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" || name == "help" {
		usage(stdout)
		return exitOK
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "attnbench: unknown command %q (known: %s)\n", name, strings.Join(sortedNames(), ", "))
		return exitBadInput
	}
	helpAsked = false
	for _, a := range args[1:] {
		if a == "-h" || a == "-help" || a == "--help" || a == "--h" {
			helpAsked = true
		}
	}
	// Every command refuses a kernel set it cannot honour, the same way;
	// cpu reports it itself, after describing the CPU.
	if err := guard.Kernels(); err != nil && name != "cpu" {
		fmt.Fprintf(stderr, "attnbench %s: %v\n", name, err)
		return exitBadInput
	}
	var tuningNote string
	switch name {
	case "sweep", "run", "parity":
		// The commands that run Forward use the cached tiles (docs/design.md §6).
		tuningNote = loadTuning()
	}
	err := c.run(args[1:], stdout, stderr)
	if tuningNote != "" && (err == nil || errors.Is(err, errCheckFailed)) {
		// Said after the run, so that bad usage still gets its one line.
		fmt.Fprintf(stderr, "attnbench: %s\n", tuningNote)
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errCheckFailed):
		fmt.Fprintf(stderr, "attnbench %s: %s\n", name, flagMessage(err))
		return exitCheck
	default:
		fmt.Fprintf(stderr, "attnbench %s: %s\n", name, flagMessage(err))
		return exitBadInput
	}
}

func sortedNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// parseInterspersed parses flags wherever they appear among the positional
// arguments (`gate BASE NEW -threshold 5%`, `report a.txt -o out b.txt`),
// which flag.Parse alone does not: it stops at the first positional. After
// "--" everything is positional. It returns the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// unexpectedArgs is the error for arguments left over after the flags of
// args. The usual cause is a true/false flag given its value after a space
// (-shared-qk false): the flag package reads that as -shared-qk and a
// stray "false", so the error says how to write it.
func unexpectedArgs(fs *flag.FlagSet, args []string, note string) error {
	rest := fs.Args()
	if used := len(args) - len(rest); used > 0 && len(rest) > 0 {
		name := strings.TrimLeft(args[used-1], "-")
		if f := fs.Lookup(name); f != nil && strings.HasPrefix(args[used-1], "-") && isBoolFlag(f) && boolList(rest[0]) {
			return badInput("-%s %s: a true/false flag takes its value after '=': -%s=%s", name, rest[0], name, rest[0])
		}
	}
	return badInput("unexpected arguments %q%s", rest, note)
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// boolList reports whether s is a comma-separated list of true/false values.
func boolList(s string) bool {
	for _, x := range strings.Split(s, ",") {
		if _, err := strconv.ParseBool(x); err != nil {
			return false
		}
	}
	return true
}
