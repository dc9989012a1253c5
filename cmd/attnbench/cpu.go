package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/harness/machine"
	"github.com/attnbench/attnbench/variants"
)

func init() {
	register(command{
		name:    "cpu",
		summary: "CPU model and features, the kernel sets available and the one in use",
		run:     runCPU,
	})
}

func runCPU(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cpu", stderr)
	if err := parseSweepFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return unexpectedArgs(fs, args, "")
	}
	features := strings.Join(machine.Features(), " ")
	if features == "" {
		features = "none of those the kernels use"
	}
	var sets []string
	for _, k := range asm.Impls() {
		sets = append(sets, k.Name)
	}
	why := "the fastest set this CPU can run"
	if v := os.Getenv(asm.EnvVar); v != "" {
		why = "forced by " + asm.EnvVar + "=" + v
		if asm.EnvError != nil {
			why = asm.EnvVar + "=" + v + " cannot be honoured, so the fastest set this CPU can run"
		}
	}
	fmt.Fprintf(stdout, "cpu:       %s\n", machine.CPUModel())
	fmt.Fprintf(stdout, "platform:  %s/%s, %d logical cores (GOMAXPROCS)\n", runtime.GOOS, runtime.GOARCH, machine.Cores())
	fmt.Fprintf(stdout, "features:  %s\n", features)
	fmt.Fprintf(stdout, "kernels:   %s available\n", strings.Join(sets, ", "))
	fmt.Fprintf(stdout, "in use:    %s (%s)\n", asm.Active().Name, why)
	int16, how := variants.LSHHashing(asm.Active())
	answer := "no"
	if int16 {
		answer = "yes"
	}
	fmt.Fprintf(stdout, "int16:     %s (%s)\n", answer, how)
	fmt.Fprintf(stdout, "tuning:    %s\n", tuningLine(asm.Active().Name))
	if asm.EnvError != nil {
		return badInput("%v", asm.EnvError)
	}
	return nil
}
