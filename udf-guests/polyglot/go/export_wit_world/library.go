// The polyglot library's top-level functions in Go (udf-guests/polyglot/wit, world `library`).
package export_wit_world

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"

	"wit_component/heap"
	"wit_component/wit_world"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Add returns a + b, wrapping on overflow as Go's int32 arithmetic does.
func Add(a int32, b int32) int32 {
	return a + b
}

// RollingMean is the mean of each window of `window` values ending at each position.
func RollingMean(values []float64, window int32) witTypes.Result[[]float64, string] {
	if window < 1 {
		return witTypes.Err[[]float64, string](fmt.Sprintf("window must be at least 1, not %d", window))
	}
	heap.Allocated(16 * len(values))
	size := int(window)
	sum := 0.0
	means := make([]float64, len(values))
	for i, value := range values {
		sum += value
		if i >= size {
			sum -= values[i-size]
		}
		means[i] = sum / float64(min(i+1, size))
	}
	return witTypes.Ok[[]float64, string](means)
}

// SafeDivide is a / b, failing with a message when b is zero.
func SafeDivide(a float64, b float64) witTypes.Result[float64, string] {
	if b == 0 {
		return witTypes.Err[float64, string]("cannot divide " + strconv.FormatFloat(a, 'g', -1, 64) + " by zero")
	}
	return witTypes.Ok[float64, string](a / b)
}

// ReverseBytes reverses the bytes in place.
func ReverseBytes(data []uint8) []uint8 {
	heap.Allocated(len(data))
	for i, j := 0, len(data)-1; i < j; i, j = i+1, j-1 {
		data[i], data[j] = data[j], data[i]
	}
	return data
}

// TrapIf executes WebAssembly's `unreachable` when asked to (trap_wasm.s).
func TrapIf(really bool) int32 {
	if really {
		trap()
	}
	return 1
}

// trap is the `unreachable` instruction (trap_wasm.s): a Go panic would print and exit instead.
func trap()

// spinState keeps spin's work observable, so the compiler cannot drop the loop.
var spinState int64

// Spin loops for ever.
func Spin(seed int64) int64 {
	x := seed
	for {
		x = x*6364136223846793005 + 1
		spinState = x
	}
}

// Hoard allocates `mebibytes` MiB, writing to each page, and says how many bytes it held.
func Hoard(mebibytes int32) int64 {
	kept := make([][]byte, 0, mebibytes)
	for range mebibytes {
		block := make([]byte, 1<<20)
		for i := 0; i < len(block); i += 4096 {
			block[i] = 1
		}
		kept = append(kept, block)
	}
	held := int64(0)
	for _, block := range kept {
		held += int64(len(block))
	}
	runtime.KeepAlive(kept)
	return held
}

// Summarize counts the values and finds their mean (summed in order), minimum and maximum.
func Summarize(values []float64) wit_world.Summary {
	heap.Allocated(8 * len(values))
	summary := wit_world.Summary{Count: int64(len(values))}
	if len(values) == 0 {
		return summary
	}
	sum, minimum, maximum := 0.0, values[0], values[0]
	for _, value := range values {
		sum += value
		if value < minimum {
			minimum = value
		}
		if value > maximum {
			maximum = value
		}
	}
	summary.Mean = witTypes.Some(sum / float64(len(values)))
	summary.Minimum = witTypes.Some(minimum)
	summary.Maximum = witTypes.Some(maximum)
	return summary
}

// ScaleReading multiplies the value by factor and marks a note, if there is one, as scaled.
func ScaleReading(r wit_world.Reading, factor float64) wit_world.Reading {
	heap.Allocated(2*len(r.Sensor) + 2*len(r.Note.SomeOr("")))
	scaled := wit_world.Reading{Sensor: r.Sensor, Value: r.Value * factor}
	if r.Note.IsSome() {
		scaled.Note = witTypes.Some(r.Note.Some() + " (scaled)")
	}
	return scaled
}

// Words are the runs of characters between spaces (U+0020).
func Words(s string) []string {
	heap.Allocated(2 * len(s))
	words := []string{}
	for _, word := range strings.Split(s, " ") {
		if word != "" {
			words = append(words, word)
		}
	}
	return words
}

// WordPositions gives each word with its ordinal (from 1) and its length in characters.
func WordPositions(s string) []wit_world.WordPosition {
	words := Words(s)
	heap.Allocated(16 * len(words))
	positions := make([]wit_world.WordPosition, len(words))
	for i, word := range words {
		positions[i] = wit_world.WordPosition{
			Ordinal:    int32(i + 1),
			Word:       word,
			Characters: int32(utf8.RuneCountInString(word)),
		}
	}
	return positions
}

// ProbeSandbox tries to read a file, the environment and the network, and says what it found.
func ProbeSandbox() string {
	file := "file: read"
	if _, err := os.ReadFile("/etc/passwd"); err != nil {
		file = "file: refused (" + err.Error() + ")"
	}
	env := fmt.Sprintf("env: %d variables", len(os.Environ()))
	network := "net: connected"
	if connection, err := net.Dial("tcp", "127.0.0.1:5432"); err != nil {
		network = "net: refused (" + err.Error() + ")"
	} else {
		connection.Close()
	}
	fmt.Println("probe-sandbox ran")
	return file + "; " + env + "; " + network
}
