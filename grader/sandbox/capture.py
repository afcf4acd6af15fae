"""Capped capture of a run's output: stdout/stderr (head, tail and size) and the control channel's lines.

The worker can print without end; the supervisor keeps the first ``output_bytes`` of each stream
plus the last :data:`TAIL_BYTES` (where tracebacks are) and counts the rest.  The control pipe
(fd 3 in the worker) is split into lines, each capped at :data:`MAX_CONTROL_LINE`, stored up to
``control_bytes`` and passed to the caller's callback, which may ask for the run to be killed;
every line, stored or not, is a heartbeat for the idle limits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

TAIL_BYTES = 8192
MAX_CONTROL_LINE = 8192


@dataclass
class Stream:
    """Capped capture of one output stream (plus a small tail for diagnosis)."""

    cap: int
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    total: int = 0

    def feed(self, chunk: bytes) -> None:
        """Keep the first ``cap`` bytes and the last few KiB; count the rest."""
        room = self.cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
        self.total += len(chunk)
        self.tail += chunk[-TAIL_BYTES:]
        del self.tail[:-TAIL_BYTES]

    @property
    def truncated(self) -> bool:
        """True if bytes were discarded."""
        return self.total > len(self.head)

    def text(self) -> str:
        """Captured bytes decoded as UTF-8 with replacement."""
        return self.head.decode("utf-8", errors="replace")


@dataclass
class ControlChannel:
    """Line splitter for the control channel with a byte cap and heartbeat clock."""

    cap: int
    callback: Callable[[str], str | None] | None
    last_line_at: float
    lines: list[str] = field(default_factory=list)
    pending: bytearray = field(default_factory=bytearray)
    stored: int = 0
    truncated: bool = False
    kill_requested: bool = False

    def feed(self, chunk: bytes, now: float) -> None:
        """Consume bytes; complete lines are stored and passed to the callback."""
        self.pending += chunk
        *complete, rest = self.pending.split(b"\n")
        self.pending = bytearray(rest)
        if len(self.pending) > MAX_CONTROL_LINE:
            complete.append(bytes(self.pending))
            self.pending.clear()
        for raw in complete:
            self._line(raw, now)

    def finish(self, now: float) -> None:
        """Flush an unterminated last line at EOF."""
        if self.pending:
            self._line(bytes(self.pending), now)
            self.pending.clear()

    def _line(self, raw: bytes, now: float) -> None:
        self.last_line_at = now
        raw = raw[:MAX_CONTROL_LINE]
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        if self.stored + len(raw) + 1 > self.cap:
            self.truncated = True  # no longer stored, but still passed on: a flood cannot hide later lines
        else:
            self.stored += len(raw) + 1
            self.lines.append(line)
        if self.callback is not None and not self.kill_requested:
            self.kill_requested = self.callback(line) == "kill"
