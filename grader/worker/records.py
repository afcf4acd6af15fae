"""The worker's output file: a stream of framed records, written by the worker, read by the parent.

One record per finished call, appended to ``out/records.bin``::

    b"W2VR" | header length (4 bytes, little endian) | header (UTF-8 JSON) | array bytes ...

The header is ``{"id": str, "meta": {...}, "arrays": [[name, dtype, shape], ...]}``; the raw bytes
of the arrays follow in that order (C order, the dtype's own byte order).

The writer runs inside the sandbox (stdlib + numpy only).  The reader runs in the trusted parent
and treats the file as hostile: everything is bounded *before* anything is allocated (file size,
header size, JSON nesting depth, dtypes, dimensions, element counts against the bytes actually
present), every string is made safe once (:func:`safe_text`), and a malformed record ends the
parse -- the records before it are kept, the calls after it count as "outputs unreadable".
"""

from __future__ import annotations

import json
import os
import re
import struct
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

MAGIC = b"W2VR"
_LENGTH = struct.Struct("<I")
MAX_FILE_BYTES = 512 * 2**20
"""A records file larger than this is not read at all (the worker's file-size rlimit is smaller)."""
MAX_HEADER_BYTES = 1 * 2**20
MAX_JSON_DEPTH = 24
MAX_ARRAYS = 64
MAX_DIMS = 8
MAX_ARRAY_ELEMENTS = 50_000_000
MAX_STRING = 20_000
SAFE_KEY = 200
"""Characters kept of a key of a record's meta."""
_LONG_SPAN = re.compile(rb'"[^"]{%d,}"' % (SAFE_KEY + 1))
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
ALLOWED_DTYPES = frozenset({"<f8", "<f4", "<f2", "<i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2", "|u1", "|b1",
                            "<c16", "<c8"})
_DTYPES = {text: np.dtype(text) for text in ALLOWED_DTYPES}


# --------------------------------------------------------------------------- writer (sandbox side)

class RecordWriter:
    """Appends records to one file (inside the sandbox; the parent never trusts what it wrote)."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._write = os.write  # private reference: student code may patch os later

    def write(self, call_id: str, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        specs, payloads = [], []
        for name, value in arrays.items():
            arr = np.asarray(value)  # (not ascontiguousarray: that makes 0-d arrays 1-d)
            if not arr.flags.c_contiguous:
                arr = arr.copy(order="C")
            if arr.dtype.str not in ALLOWED_DTYPES:
                arr = arr.astype(np.float64)
            specs.append([name, arr.dtype.str, list(arr.shape)])
            payloads.append(memoryview(arr).cast("B") if arr.size else b"")
        header = json.dumps({"id": call_id, "meta": meta, "arrays": specs}, default=str,
                            ensure_ascii=True).encode("ascii")
        self._write_all(MAGIC + _LENGTH.pack(len(header)) + header)
        for payload in payloads:
            self._write_all(payload)

    def _write_all(self, data: Any) -> None:
        view = memoryview(data)
        while view:
            written = self._write(self.fd, view)
            view = view[written:]


# --------------------------------------------------------------------------- reader (parent side)

class RecordError(ValueError):
    """A record that cannot be trusted to be well-formed (the parse stops there)."""


@dataclass
class Record:
    """One call's outputs as the parent accepted them."""

    call_id: str
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class ParsedRecords:
    """Every well-formed record before the first malformed one (first record per call id wins)."""

    records: dict[str, Record] = field(default_factory=dict)
    error: Optional[str] = None
    """Why the parse stopped early, if it did (shown to staff, blamed on the submission)."""
    offset: int = 0
    """Bytes parsed so far (where the next read goes on)."""
    fatal: bool = False
    """The file itself could not be read (too large, unreadable): nothing more is read."""


def read_records(path: str, into: Optional[ParsedRecords] = None, *, final: bool = True,
                 max_bytes: int = MAX_FILE_BYTES) -> ParsedRecords:
    """Parse ``path`` defensively, going on from ``into.offset`` if given; a missing file reads as empty.

    ``final=False`` (the worker is still running): a record cut off at the end of the file is left
    for the next read; ``final=True``: it is malformed.  A malformed record is skipped: the parse
    goes on at the next record marker, so a bad record costs only its own call (``error`` keeps the
    first problem, for staff).  Reading stops for good only when the file itself is unusable.
    """
    parsed = into if into is not None else ParsedRecords()
    if parsed.fatal:
        return parsed
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            parsed.error = f"the output file is {size} bytes (more than {max_bytes})"
            parsed.fatal = True
            return parsed
        if size <= parsed.offset:
            return parsed
        with open(path, "rb") as handle:
            handle.seek(parsed.offset)
            data = handle.read(max_bytes + 1 - parsed.offset)
    except FileNotFoundError:
        return parsed
    except OSError as exc:
        parsed.error = f"the output file could not be read ({exc.strerror})"
        parsed.fatal = True
        return parsed
    view = memoryview(data)
    offset = 0
    while offset < len(view):
        try:
            record, end = _parse_one(view, offset)
        except _Incomplete as exc:
            if not final:
                break  # the writer may still be appending it: read it next time
            parsed.error = parsed.error or f"truncated output record at byte {parsed.offset + offset}: {exc}"
            offset = _next_marker(view, offset)
            continue
        except RecordError as exc:
            parsed.error = parsed.error or f"malformed output record at byte {parsed.offset + offset}: {exc}"
            offset = _next_marker(view, offset)
            continue
        parsed.records.setdefault(record.call_id, record)
        offset = end
    parsed.offset += offset
    return parsed


def _next_marker(view: memoryview, offset: int) -> int:
    """Where the next record marker after ``offset`` starts (the end of the data if there is none)."""
    data = view.obj if isinstance(view.obj, bytes) else bytes(view)
    found = data.find(MAGIC, offset + 1)
    return len(view) if found < 0 else found


class _Incomplete(RecordError):
    """The file ends inside a record (it may still be being written)."""


def _parse_one(view: memoryview, offset: int) -> tuple[Record, int]:
    head = offset + len(MAGIC) + _LENGTH.size
    got = bytes(view[offset:offset + len(MAGIC)])
    if got != MAGIC[:len(got)]:
        raise RecordError("bad magic")
    if head > len(view):
        raise _Incomplete("record header")
    (length,) = _LENGTH.unpack_from(view, offset + len(MAGIC))
    if length > MAX_HEADER_BYTES:
        raise RecordError(f"header of {length} bytes")
    if head + length > len(view):
        raise _Incomplete("record header")
    raw = bytes(view[head:head + length])
    header = _load_json(raw)
    if not isinstance(header, dict) or not isinstance(header.get("id"), str):
        raise RecordError("header is not an object with an id")
    meta = header.get("meta")
    specs = header.get("arrays")
    if not isinstance(meta, dict) or not isinstance(specs, list) or len(specs) > MAX_ARRAYS:
        raise RecordError("header without meta/arrays")
    position = head + length
    arrays: dict[str, np.ndarray] = {}
    for spec in specs:
        name, dtype, shape, count = _array_spec(spec)
        nbytes = count * dtype.itemsize
        if position + nbytes > len(view):
            raise _Incomplete(f"array {name!r}")
        arrays[name] = np.frombuffer(view[position:position + nbytes], dtype=dtype).reshape(shape).copy()
        position += nbytes
    return Record(safe_text(header["id"], 200), meta if _plain_strings(raw) else safe_value(meta), arrays), position


def _plain_strings(raw: bytes) -> bool:
    """Is every string of this (parsed) JSON text already safe, so that :func:`safe_value` may be skipped?

    True when the text has no backslash and no DEL, and no string literal longer than a key may be:
    without escapes a string holds exactly its literal's characters, the strict parser has refused
    raw control characters, and UTF-8 decoding has refused surrogates.  (:data:`_LONG_SPAN` also
    matches the text between two strings: that only makes the answer a needless False.)
    """
    return b"\\" not in raw and b"\x7f" not in raw and _LONG_SPAN.search(raw) is None


def _array_spec(spec: Any) -> tuple[str, np.dtype, tuple[int, ...], int]:
    """(name, dtype, shape, element count) of a record's array description, each bounded."""
    if not (isinstance(spec, list) and len(spec) == 3 and isinstance(spec[0], str) and isinstance(spec[1], str)
            and isinstance(spec[2], list)):
        raise RecordError("bad array description")
    name, dtype_text, shape = spec
    if dtype_text not in ALLOWED_DTYPES:
        raise RecordError(f"dtype {dtype_text[:20]!r} not allowed")
    if len(shape) > MAX_DIMS or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_ARRAY_ELEMENTS
                                        for n in shape):
        raise RecordError("bad shape")
    count = 1
    for n in shape:
        count *= n
    if count > MAX_ARRAY_ELEMENTS:
        raise RecordError(f"{count} elements")
    return safe_text(name, 100), _DTYPES[dtype_text], tuple(shape), count


def _load_json(raw: bytes) -> Any:
    """``json.loads`` after checking the nesting depth (deep nesting makes the parser recurse).

    The depth is counted over the brackets outside JSON strings only: strings are cut out first
    (any unterminated one stays in and can only make the count larger), so the Python loop runs
    over a record's few brackets, not over every byte of it.
    """
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH:
        depth = deepest = 0
        for byte in _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
            depth += 1 if byte in (0x5B, 0x7B) else -1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                raise RecordError(f"JSON nested deeper than {MAX_JSON_DEPTH}")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RecordError(f"header is not JSON ({type(exc).__name__})") from None


def safe_text(value: Any, limit: int = MAX_STRING) -> str:
    """Any value as a printable, encodable string: lone surrogates escaped, control characters
    (but newline and tab) replaced by U+FFFD, at most ``limit`` characters."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    if not text.isascii():  # only non-ASCII text can hold a lone surrogate
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub("\ufffd", text)


def safe_value(value: Any, depth: int = 0) -> Any:
    """A JSON value with every string (keys included) made safe; depth is already bounded by the parser."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_text(k, SAFE_KEY): safe_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [safe_value(v, depth + 1) for v in value]
    return value
