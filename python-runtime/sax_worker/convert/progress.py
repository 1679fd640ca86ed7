"""Progress of a long conversion on stderr, and the peak resident set it reports at the end.

On a terminal, one line redrawn in place (at most ten times a second)::

    converting [########------------]  41%  5.20/12.55 GiB  120/291 variables  ETA 3m05s

Elsewhere (a log file, CI) a plain line at each further tenth of the bytes, and at least every 30 s, so
logs stay short. The ETA divides the bytes left by this run's rate: arrays an earlier run wrote count as
done, not towards the rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

_BAR_WIDTH = 20
_REDRAW_S = 0.1
_PLAIN_EVERY_S = 30.0
_UNITS = (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10), ("B", 1))


class Progress:
    """Bytes and variables done out of a known total, with an ETA."""

    def __init__(
        self,
        verb: str,
        total_variables: int,
        total_bytes: int,
        stream: TextIO,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verb, self._total_variables, self._total_bytes = verb, total_variables, total_bytes
        self._stream, self._clock, self._tty = stream, clock, stream.isatty()
        self._variables = self._bytes = self._skipped_bytes = 0
        self._start = self._last_shown = clock()
        self._last_tenth = 0

    def skip(self, variables: int, nbytes: int) -> None:
        """Counts work an earlier run did as done."""
        self._variables += variables
        self._bytes += nbytes
        self._skipped_bytes += nbytes
        self._last_tenth = self._tenth()

    def advance(self, nbytes: int) -> None:
        """One more variable of ``nbytes`` done."""
        self._variables += 1
        self._bytes += nbytes
        now = self._clock()
        if self._tty:
            if now - self._last_shown >= _REDRAW_S or self._variables == self._total_variables:
                self._show("\r" + self.line() + "\x1b[K", now)
        elif self._tenth() > self._last_tenth or now - self._last_shown >= _PLAIN_EVERY_S:
            self._last_tenth = self._tenth()
            self._show(self.line() + "\n", now)

    def finish(self) -> None:
        """Ends the redrawn line on a terminal (redrawn as it stands)."""
        if self._tty:
            self._show("\r" + self.line() + "\x1b[K\n", self._clock())

    def line(self) -> str:
        """The current state in one line (the bar only on a terminal)."""
        fraction = self._bytes / self._total_bytes if self._total_bytes else 1.0
        filled = round(fraction * _BAR_WIDTH)
        bar = f" [{'#' * filled}{'-' * (_BAR_WIDTH - filled)}]" if self._tty else ":"
        return (
            f"{self._verb}{bar} {fraction:4.0%}  {format_bytes(self._bytes, self._total_bytes)}  "
            f"{self._variables}/{self._total_variables} variables  ETA {self._eta()}"
        )

    def _eta(self) -> str:
        done_here = self._bytes - self._skipped_bytes
        elapsed = self._clock() - self._start
        if self._bytes >= self._total_bytes:
            return "0s"
        if done_here <= 0 or elapsed <= 0:
            return "--"
        return format_duration((self._total_bytes - self._bytes) * elapsed / done_here)

    def _tenth(self) -> int:
        return self._bytes * 10 // self._total_bytes if self._total_bytes else 10

    def _show(self, text: str, now: float) -> None:
        self._stream.write(text)
        self._stream.flush()
        self._last_shown = now


def format_bytes(nbytes: int, total: int | None = None) -> str:
    """``12.55 GiB``, or ``5.20/12.55 GiB`` with a total (in the unit that suits the larger)."""
    scale = max(nbytes, total or 0)
    unit, divisor = next((u, d) for u, d in _UNITS if scale >= d or d == 1)
    digits = 2 if divisor > 1 else 0
    amount = f"{nbytes / divisor:.{digits}f}"
    return f"{amount}/{total / divisor:.{digits}f} {unit}" if total is not None else f"{amount} {unit}"


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s`` or ``1h02m``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
