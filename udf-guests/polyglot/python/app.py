"""The polyglot library (../wit/library.wit) in Python, made a component by componentize-py."""

import os

import wit_world
from componentize_py_types import Err
from wit_world import Reading, Summary, WordPosition, exports


class WitWorld(wit_world.WitWorld):
    def add(self, a: int, b: int) -> int:
        # s32 arithmetic wraps, as the other languages' guests do.
        return (a + b + 2**31) % 2**32 - 2**31

    def rolling_mean(self, values: list[float], window: int) -> list[float]:
        if window < 1:
            raise Err(f"window must be at least 1, not {window}")
        total = 0.0
        means = []
        for i, value in enumerate(values):
            total += value
            if i >= window:
                total -= values[i - window]
            means.append(total / min(i + 1, window))
        return means

    def safe_divide(self, a: float, b: float) -> float:
        if b == 0.0:
            raise Err(f"cannot divide {a:g} by zero")
        return a / b

    def reverse_bytes(self, data: bytes) -> bytes:
        return data[::-1]

    def trap_if(self, really: bool) -> int:
        if really:
            # An exception from a function whose WIT result is not a result<...> traps the guest.
            raise RuntimeError("asked to trap")
        return 1

    def spin(self, seed: int) -> int:
        x = seed
        while True:
            x = (x * 6364136223846793005 + 1) % 2**64

    def hoard(self, mebibytes: int) -> int:
        kept = [bytearray(1 << 20) for _ in range(mebibytes)]
        return sum(len(block) for block in kept)

    def summarize(self, values: list[float]) -> Summary:
        if not values:
            return Summary(0, None, None, None)
        total = 0.0
        for value in values:  # in order, as the other languages do (sum() compensates)
            total += value
        return Summary(len(values), total / len(values), min(values), max(values))

    def scale_reading(self, r: Reading, factor: float) -> Reading:
        note = None if r.note is None else r.note + " (scaled)"
        return Reading(r.sensor, r.value * factor, note)

    def words(self, s: str) -> list[str]:
        return [word for word in s.split(" ") if word]

    def word_positions(self, s: str) -> list[WordPosition]:
        return [WordPosition(i + 1, word, len(word)) for i, word in enumerate(self.words(s))]

    def probe_sandbox(self) -> str:
        try:
            with open("/etc/passwd") as passwd:
                passwd.read()
            found_file = "file: read"
        except OSError as error:
            found_file = f"file: refused ({type(error).__name__})"
        try:
            import socket

            socket.create_connection(("127.0.0.1", 5432), timeout=1)
            found_net = "net: connected"
        except Exception as error:  # noqa: BLE001 - any refusal will do
            found_net = f"net: refused ({type(error).__name__})"
        print("probe-sandbox ran")
        return f"{found_file}; env: {len(os.environ)} variables; {found_net}"


class Text(exports.Text):
    def upper(self, s: str) -> str:
        return s.upper()

    def byte_length(self, s: str | None) -> int | None:
        return None if s is None else len(s.encode())


class Stats(exports.Stats):
    """The interface's resource, Moments, is in stats.py."""
