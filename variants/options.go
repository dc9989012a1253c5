package variants

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/attnbench/attnbench/internal/setting"
)

// Options configures one Forward call. Build it with DefaultOptions and
// change what differs: the zero value is not the defaults (a zero window is
// a valid window). The variants' own parameters are set by name with Set,
// which is what every command-line flag and sweep list goes through.
type Options struct {
	Causal  bool
	Scale   float32 // 0 means 1/√D
	Threads int     // 0 means all cores
	Seed    uint64  // all randomness of a variant (BigBird blocks, LSH rotations, FAVOR features)

	// flash
	BlockQ int // query tile rows; 0: tuned (tuning.go), else 64
	BlockK int // key tile rows; 0: tuned, else chosen by D

	// window
	Window   int // radius w
	Dilation int
	Global   int // number of global tokens g

	// sparse
	Pattern string // strided, fixed, bigbird
	Stride  int    // l
	Summary int    // c (fixed)
	Block   int    // b (bigbird)
	Random  int    // r (bigbird)

	// lsh
	Buckets  int // 0 means 2·max(1, N/chunk)
	Rounds   int
	Chunk    int
	SharedQK bool

	// linear
	Kernel   string // elu, favor
	Features int    // m (favor)
	Eps      float64
}

// DefaultOptions returns the defaults of docs/design.md §2.
func DefaultOptions() Options {
	o := Options{}
	for _, p := range params {
		if err := p.set(&o, p.Default); err != nil {
			panic("variants: bad default for " + p.Name + ": " + err.Error())
		}
	}
	return o
}

// ScaleFor returns the logit scale for head dimension d.
func (o Options) ScaleFor(d int) float32 {
	if o.Scale != 0 {
		return o.Scale
	}
	return float32(1 / math.Sqrt(float64(d)))
}

// Param describes one named parameter: a command-line flag of every
// command, a key of benchmark names when not at its default, and a knob a
// sweep can list.
type Param struct {
	Name    string
	Usage   string
	Default string
	// Choices lists the allowed values of a string parameter.
	Choices []string
	// Bool marks a boolean parameter (a flag that takes no value).
	Bool bool
	set  func(o *Options, s string) error
	get  func(o Options) string
}

// Params returns every variant parameter, in the order benchmark names list
// them.
func Params() []Param { return append([]Param(nil), params...) }

// LookupParam returns the parameter called name.
func LookupParam(name string) (Param, bool) {
	for _, p := range params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// Set sets the parameter called name from its text form. Its errors are
// *setting.Error, named by the parameter.
func (o *Options) Set(name, value string) error {
	p, ok := LookupParam(name)
	if !ok {
		return &setting.Error{Name: name, Reason: "unknown parameter"}
	}
	if err := p.set(o, value); err != nil {
		return &setting.Error{Name: name, Value: value, Reason: err.Error()}
	}
	return nil
}

// badParam is the error for a parameter value that makes no sense; the
// command line spells it as its flag (-window -1: must be ≥ 0).
func badParam(name string, value any, reason string) error {
	return &setting.Error{Name: name, Value: fmt.Sprint(value), Reason: reason}
}

// unsupportedParam is the error for a parameter value this variant does not
// support on the shape by design; it wraps ErrUnsupported, so a sweep skips
// the case instead of failing.
func unsupportedParam(name string, value any, reason string) error {
	return &setting.Error{Name: name, Value: fmt.Sprint(value), Reason: reason, Err: ErrUnsupported}
}

// Get returns the text form of the parameter called name.
func (o Options) Get(name string) string {
	p, ok := LookupParam(name)
	if !ok {
		return ""
	}
	return p.get(o)
}

// NonDefault returns the names of the given parameters whose values differ
// from the defaults, in Params order.
func (o Options) NonDefault(names []string) []string {
	def := DefaultOptions()
	var out []string
	for _, p := range params {
		if !slices.Contains(names, p.Name) {
			continue
		}
		if p.get(o) != p.get(def) {
			out = append(out, p.Name)
		}
	}
	return out
}

func intParam(name, def, usage string, min int, field func(*Options) *int) Param {
	return Param{
		Name: name, Usage: usage, Default: def,
		set: func(o *Options, s string) error {
			v, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("not an integer")
			}
			if v < min {
				return fmt.Errorf("must be ≥ %d", min)
			}
			*field(o) = v
			return nil
		},
		get: func(o Options) string { return strconv.Itoa(*field(&o)) },
	}
}

func choiceParam(name, def, usage string, choices []string, field func(*Options) *string) Param {
	return Param{
		Name: name, Usage: usage, Default: def, Choices: choices,
		set: func(o *Options, s string) error {
			if !slices.Contains(choices, s) {
				return fmt.Errorf("unknown value (want one of %s)", strings.Join(choices, ", "))
			}
			*field(o) = s
			return nil
		},
		get: func(o Options) string { return *field(&o) },
	}
}

// params is the one table of variant parameters (docs/design.md §2, §6).
var params = []Param{
	{
		Name: "scale", Usage: "logit scale (0 = 1/√d)", Default: "0",
		set: func(o *Options, s string) error {
			v, err := strconv.ParseFloat(s, 32)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("not a finite number")
			}
			o.Scale = float32(v)
			return nil
		},
		get: func(o Options) string { return strconv.FormatFloat(float64(o.Scale), 'g', -1, 32) },
	},
	{
		Name: "seed", Usage: "seed of the variant's random parts", Default: "0",
		set: func(o *Options, s string) error {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return fmt.Errorf("not a non-negative integer")
			}
			o.Seed = v
			return nil
		},
		get: func(o Options) string { return strconv.FormatUint(o.Seed, 10) },
	},
	intParam("block-q", "0", "flash: query tile rows (0 = tuned, else 64)", 0, func(o *Options) *int { return &o.BlockQ }),
	intParam("block-k", "0", "flash: key tile rows (0 = tuned, else chosen by d)", 0, func(o *Options) *int { return &o.BlockK }),
	intParam("window", "128", "window: radius w (keys i+dilation·t, |t| ≤ w)", 0, func(o *Options) *int { return &o.Window }),
	intParam("dilation", "1", "window: step between keys", 1, func(o *Options) *int { return &o.Dilation }),
	intParam("global", "0", "window: global tokens (first g positions)", 0, func(o *Options) *int { return &o.Global }),
	choiceParam("pattern", "strided", "sparse: pattern", []string{"strided", "fixed", "bigbird"}, func(o *Options) *string { return &o.Pattern }),
	intParam("stride", "128", "sparse strided/fixed: stride l", 1, func(o *Options) *int { return &o.Stride }),
	intParam("summary", "32", "sparse fixed: summary columns c per block", 1, func(o *Options) *int { return &o.Summary }),
	intParam("block", "64", "sparse bigbird: block size b", 1, func(o *Options) *int { return &o.Block }),
	intParam("random", "3", "sparse bigbird: random blocks r per query block", 0, func(o *Options) *int { return &o.Random }),
	{
		Name: "buckets", Usage: "lsh: hash buckets nb, even (0 = 2·max(1, n/chunk))", Default: "0",
		set: func(o *Options, s string) error {
			v, err := strconv.Atoi(s)
			switch {
			case err != nil:
				return fmt.Errorf("not an integer")
			case v != 0 && (v < 2 || v%2 != 0):
				return fmt.Errorf("must be an even number ≥ 2 (or 0 for automatic)")
			}
			o.Buckets = v
			return nil
		},
		get: func(o Options) string { return strconv.Itoa(o.Buckets) },
	},
	intParam("rounds", "2", "lsh: hashing rounds", 1, func(o *Options) *int { return &o.Rounds }),
	intParam("chunk", "128", "lsh: chunk length c", 1, func(o *Options) *int { return &o.Chunk }),
	{
		Name: "shared-qk", Usage: "lsh: shared-QK attention (keys = normalised queries)", Default: "true", Bool: true,
		set: func(o *Options, s string) error {
			v, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("not a boolean")
			}
			o.SharedQK = v
			return nil
		},
		get: func(o Options) string { return strconv.FormatBool(o.SharedQK) },
	},
	choiceParam("kernel", "elu", "linear: feature map", []string{"elu", "favor"}, func(o *Options) *string { return &o.Kernel }),
	intParam("features", "256", "linear favor: random features m", 1, func(o *Options) *int { return &o.Features }),
	{
		Name: "eps", Usage: "linear: ε added to the normaliser", Default: "1e-6",
		set: func(o *Options, s string) error {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return fmt.Errorf("must be a finite number ≥ 0")
			}
			o.Eps = v
			return nil
		},
		get: func(o Options) string { return strconv.FormatFloat(o.Eps, 'g', -1, 64) },
	},
}
