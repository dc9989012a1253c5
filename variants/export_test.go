package variants

// Broken copies of flash, each with one injected bug, for the tests that
// prove the parity rule fails them.
var (
	BrokenFlashMask    Variant = Flash{fault: faultMaskOffByOne}
	BrokenFlashRescale Variant = Flash{fault: faultNoRescale}
	BrokenFlashTail    Variant = Flash{fault: faultDropTail}
)
