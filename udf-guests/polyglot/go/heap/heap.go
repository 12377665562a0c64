// Package heap runs Go's garbage collector only where a component may run it: inside an export's body.
//
// A collection reads the clock, a WASI import. While the host copies a call's arguments in, through
// cabi_realloc, the component model forbids the guest to call out of the component ("cannot leave
// component instance"), and Go starts a collection from whatever allocation crosses its heap goal,
// cabi_realloc's included. So automatic collection is off, and each function reports the bytes its
// arguments and results took; every CollectEvery of them, it collects, from the function's body.
package heap

import (
	"runtime"
	"runtime/debug"
)

// CollectEvery is how many bytes may be allocated between two collections.
const CollectEvery = 16 << 20

var sinceCollection int

func init() {
	debug.SetGCPercent(-1)
}

// Allocated counts bytes a call allocated, and collects once CollectEvery have been.
func Allocated(bytes int) {
	sinceCollection += bytes
	if sinceCollection >= CollectEvery {
		sinceCollection = 0
		runtime.GC()
	}
}
