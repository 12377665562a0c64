"""The polyglot library's `stats` interface: componentize-py finds an exported interface's
resources as classes of the module named after the interface (so the interface is not called
`statistics`, which would be the standard library's module)."""

import math
import struct

from wit_world.exports import stats


class Moments(stats.Moments):
    """One group's running count, mean and sum of squared deviations. Python's sum() of floats is
    compensated, so its answers may differ from the other languages' in the last bits."""

    def __init__(self) -> None:
        self.n, self.average, self.m2 = 0, 0.0, 0.0

    def push(self, values: list[float]) -> None:
        if values:
            mean = sum(values) / len(values)
            self._take_in(len(values), mean, sum([(x - mean) * (x - mean) for x in values]))

    def retract(self, values: list[float]) -> bool:
        for x in values:
            if self.n == 0:
                return False
            self.n -= 1
            if self.n == 0:
                self.average, self.m2 = 0.0, 0.0
                continue
            delta = x - self.average
            self.average -= delta / self.n
            self.m2 -= delta * (x - self.average)
        return True

    def merge(self, other: "Moments") -> None:
        self._take_in(other.n, other.average, other.m2)

    def _take_in(self, n_b: int, mean_b: float, m2_b: float) -> None:
        """Merge in the moments of n_b other values (Chan's formula)."""
        if n_b == 0:
            return
        n = self.n + n_b
        delta = mean_b - self.average
        self.average = self.average + delta * n_b / n
        self.m2 = self.m2 + m2_b + delta * delta * self.n * n_b / n
        self.n = n

    def serialize(self) -> bytes:
        return struct.pack("<Qdd", self.n, self.average, self.m2)

    @classmethod
    def deserialize(cls, bytes: bytes) -> "Moments":
        state = cls()
        state.n, state.average, state.m2 = struct.unpack("<Qdd", bytes)
        return state

    def mean(self) -> float | None:
        return self.average if self.n > 0 else None

    def stddev(self) -> float | None:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None
