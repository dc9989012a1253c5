package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/attnbench/attnbench/internal/vocab"
	"github.com/attnbench/attnbench/variants"
)

func init() {
	register(command{
		name:    "list",
		summary: "variants, their parameters and defaults",
		run:     runList,
	})
}

func runList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("list", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return unexpectedArgs(fs, args, "")
	}
	for _, name := range variants.Names() {
		v, _ := variants.Lookup(name)
		kind := "approximate"
		if v.Exact() {
			kind = "exact"
		}
		fmt.Fprintf(stdout, "%s (%s)\n", name, kind)
		var shown []string
		for _, pn := range append(vocab.Universal(), v.Params()...) {
			if slices.Contains(shown, pn) {
				continue // a variant may list a universal parameter (seed) as its own
			}
			shown = append(shown, pn)
			p, _ := variants.LookupParam(pn)
			def := p.Default
			if len(p.Choices) > 0 {
				def += " (" + strings.Join(p.Choices, "|") + ")"
			}
			fmt.Fprintf(stdout, "  -%-10s %-32s %s\n", p.Name, def, p.Usage)
		}
	}
	return nil
}
