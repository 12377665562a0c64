// trap: WebAssembly's `unreachable`, for TrapIf (Go has no spelling of it).
#include "textflag.h"

TEXT ·trap(SB), NOSPLIT, $0-0
	UNDEF
