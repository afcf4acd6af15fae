"""``results.jsonl``: the batch's durable record, one JSON object per finished submission.

While a batch runs the file is append-only and every line is flushed and
fsync'ed before the submission counts as done, so a crash or SIGKILL loses
at most the line being written; a torn last line is skipped when the file
is read back.  Reading keeps the *last* record per key, so regrading a
submission just appends.  At the end of a run (also after Ctrl-C) the file
is compacted atomically (temp file + fsync + rename) to exactly one line
per submission of the batch, in key order; grades.csv and index.html are
built from it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

RECORD_FIELDS = ("key", "source", "input_hash", "content_hash", "status", "error", "student", "worker",
                 "started_at", "finished_at", "duration", "attempts", "result")
TIMING_FIELDS = ("worker", "started_at", "finished_at", "duration")


class ResultStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.skipped_lines = 0

    def load(self) -> dict[str, dict[str, Any]]:
        """Last valid record per key; torn or foreign lines are counted in ``skipped_lines``."""
        records: dict[str, dict[str, Any]] = {}
        self.skipped_lines = 0
        if not self.path.exists():
            return records
        with open(self.path, "rb") as f:
            for raw in f:
                line = raw.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except (ValueError, UnicodeDecodeError):
                    self.skipped_lines += 1
                    continue
                if not isinstance(record, dict) or not isinstance(record.get("key"), str):
                    self.skipped_lines += 1
                    continue
                records[record["key"]] = record
        return records

    def append(self, record: dict[str, Any]) -> None:
        """Append one record durably (flush + fsync); repairs a torn last line first."""
        data = (json.dumps(record, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8", "backslashreplace")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size:
                last = os.pread(fd, 1, size - 1)
                if last != b"\n":  # a previous run died mid-line: end that line so ours parses
                    data = b"\n" + data
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)

    def rewrite(self, records: Iterable[dict[str, Any]]) -> None:
        """Atomically replace the file with ``records`` (one line each)."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8", errors="backslashreplace") as f:
            for record in records:
                f.write(json.dumps(record, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", errors="backslashreplace", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
