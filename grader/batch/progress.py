"""Live feedback while a batch runs: a rich progress bar, plain lines, or nothing."""

from __future__ import annotations

import sys
from typing import Any, Optional, TextIO


def _fmt_score(outcome: dict[str, Any]) -> str:
    result = outcome.get("result") or {}
    if result.get("score") is None:
        return ""
    return f"{result['score']:.2f}/{result.get('max_score', 0):.2f}"


class Reporter:
    """Base: counts only (``--quiet``)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.failed = 0

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done - self.failed)

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def finished(self, label: str, outcome: dict[str, Any]) -> None:
        if outcome.get("status") == "graded":
            self.done += 1
        else:
            self.failed += 1


class LineReporter(Reporter):
    """One line per finished submission (stdout is not a terminal)."""

    def __init__(self, total: int, stream: Optional[TextIO] = None) -> None:
        super().__init__(total)
        self.stream = stream or sys.stdout

    def message(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def finished(self, label: str, outcome: dict[str, Any]) -> None:
        super().finished(label, outcome)
        n = self.done + self.failed
        if outcome.get("status") == "graded":
            status, detail = "graded", _fmt_score(outcome)
        else:
            status, detail = "FAILED", (outcome.get("error") or "").splitlines()[0][:160] if outcome.get("error") else ""
        print(f"[{n}/{self.total}] {status:<6} {label}  {detail}  ({outcome.get('duration', 0):.1f} s)",
              file=self.stream, flush=True)


class RichReporter(Reporter):
    """A rich progress bar with done / failed / remaining counts and an ETA."""

    def __init__(self, total: int) -> None:
        super().__init__(total)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = Console()
        self.progress = Progress(
            TextColumn("[bold]grading"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[green]done {task.fields[done]}[/] · [red]failed {task.fields[failed]}[/] · "
                       "remaining {task.fields[remaining]}"),
            TextColumn("· elapsed"),
            TimeElapsedColumn(),
            TextColumn("· ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task("grading", total=total, done=0, failed=0, remaining=total)

    def message(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False)

    def finished(self, label: str, outcome: dict[str, Any]) -> None:
        super().finished(label, outcome)
        if outcome.get("status") != "graded":
            error = (outcome.get("error") or "").splitlines()[0][:160] if outcome.get("error") else ""
            from rich.markup import escape

            self.progress.console.print(f"[red]FAILED[/] {escape(label)}: {escape(error)}", highlight=False)
        self.progress.update(self.task, advance=1, done=self.done, failed=self.failed, remaining=self.remaining)

    def close(self) -> None:
        self.progress.stop()


def make_reporter(total: int, *, quiet: bool = False, mode: str = "auto") -> Reporter:
    """``mode``: auto (bar on a terminal, lines otherwise), bar, lines or none."""
    if quiet or mode == "none":
        return Reporter(total)
    if mode == "bar" or (mode == "auto" and sys.stdout.isatty()):
        return RichReporter(total)
    return LineReporter(total)
