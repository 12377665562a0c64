// The polyglot library's `stats.moments` resource in Go: a batched aggregate's state.
package export_plwasm_polyglot_stats

import (
	"encoding/binary"
	"math"
	"runtime"

	"wit_component/heap"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Moments is one group's running count, mean and sum of squared deviations from the mean. The
// pinner and handle fields are the generated bindings' (wit_bindings.go): they keep the state
// in place while the host holds its handle.
type Moments struct {
	pinner runtime.Pinner
	handle int32
	n      uint64
	mean   float64
	m2     float64
}

// OnDrop runs when the host drops the resource; the garbage collector does the rest.
func (self *Moments) OnDrop() {}

// MakeMoments is the resource's constructor: an empty state.
func MakeMoments() *Moments {
	heap.Allocated(64)
	return &Moments{}
}

// takeIn merges the moments of nb other values (Chan's formula).
func (self *Moments) takeIn(nb uint64, meanB float64, m2B float64) {
	if nb == 0 {
		return
	}
	na := self.n
	n := na + nb
	delta := meanB - self.mean
	self.mean += delta * float64(nb) / float64(n)
	self.m2 += m2B + delta*delta*float64(na)*float64(nb)/float64(n)
	self.n = n
}

// Push takes in a batch: its own mean and squared deviations (two passes), then merged.
func (self *Moments) Push(values []float64) {
	heap.Allocated(8 * len(values))
	if len(values) == 0 {
		return
	}
	sum := 0.0
	for _, x := range values {
		sum += x
	}
	mean := sum / float64(len(values))
	m2 := 0.0
	for _, x := range values {
		m2 += (x - mean) * (x - mean)
	}
	self.takeIn(uint64(len(values)), mean, m2)
}

// Retract removes a batch by Welford's inverse step; false if there are fewer values than that.
func (self *Moments) Retract(values []float64) bool {
	heap.Allocated(8 * len(values))
	n, mean, m2 := self.n, self.mean, self.m2
	for _, x := range values {
		if n == 0 {
			return false
		}
		n--
		if n == 0 {
			mean, m2 = 0, 0
			continue
		}
		delta := x - mean
		mean -= delta / float64(n)
		m2 -= delta * (x - mean)
	}
	self.n, self.mean, self.m2 = n, mean, m2
	return true
}

// Merge takes in another group's state.
func (self *Moments) Merge(other *Moments) {
	self.takeIn(other.n, other.mean, other.m2)
}

// Serialize writes 24 bytes: the count (u64), the mean and the sum of squares (f64), little-endian.
func (self *Moments) Serialize() []uint8 {
	heap.Allocated(24)
	bytes := make([]byte, 24)
	binary.LittleEndian.PutUint64(bytes[0:], self.n)
	binary.LittleEndian.PutUint64(bytes[8:], math.Float64bits(self.mean))
	binary.LittleEndian.PutUint64(bytes[16:], math.Float64bits(self.m2))
	return bytes
}

// MomentsDeserialize reads the bytes Serialize wrote.
func MomentsDeserialize(bytes []uint8) *Moments {
	heap.Allocated(len(bytes) + 64)
	return &Moments{
		n:    binary.LittleEndian.Uint64(bytes[0:]),
		mean: math.Float64frombits(binary.LittleEndian.Uint64(bytes[8:])),
		m2:   math.Float64frombits(binary.LittleEndian.Uint64(bytes[16:])),
	}
}

// Mean is none without rows.
func (self *Moments) Mean() witTypes.Option[float64] {
	if self.n == 0 {
		return witTypes.None[float64]()
	}
	return witTypes.Some(self.mean)
}

// Stddev is the sample standard deviation; none with fewer than two rows.
func (self *Moments) Stddev() witTypes.Option[float64] {
	if self.n < 2 {
		return witTypes.None[float64]()
	}
	return witTypes.Some(math.Sqrt(self.m2 / float64(self.n-1)))
}
