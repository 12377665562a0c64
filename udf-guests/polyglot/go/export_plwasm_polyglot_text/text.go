// The polyglot library's `text` interface in Go.
package export_plwasm_polyglot_text

import (
	"strings"

	"wit_component/heap"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Upper upper-cases by Unicode's simple case mapping ('ß' stays 'ß', as in C; Rust and Python give "SS").
func Upper(s string) string {
	heap.Allocated(2 * len(s))
	return strings.ToUpper(s)
}

// ByteLength is the UTF-8 length in bytes; none for SQL NULL.
func ByteLength(s witTypes.Option[string]) witTypes.Option[int32] {
	if s.IsNone() {
		return witTypes.None[int32]()
	}
	heap.Allocated(len(s.Some()))
	return witTypes.Some(int32(len(s.Some())))
}
