"""Every file a worker hands back is hostile input; every string from a student is made safe once.

A fuzz test feeds the records reader thousands of malformed files (random bytes, cut-off records,
headers that claim 10¹² elements, deeply nested JSON, unknown dtypes, lone surrogates) and the
writers (results.json, the HTML report, the batch store) results full of hostile strings: nothing
may raise, allocate beyond the bounds, or write an invalid file.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import numpy as np
import pytest

from grader.gradescope.results_json import to_results_json, validate_results, write_results_json
from grader.report import write_report
from grader.results import CaseResult, GradeResult, SandboxEvent, Status, SubmissionFiles, to_jsonable
from grader.results import TestResult as GradedTest
from grader.rubric import load_rubric
from grader.worker.records import MAGIC, MAX_ARRAY_ELEMENTS, RecordWriter, read_records, safe_text

NASTY = ["\ud800", "\udfff lone", "a\x00b\x1b[31mred", "é" * 5000, "\u202etxet", "'\"<script>alert(1)</script>",
         "\U0001F600", "\r\n\t", "x" * 100_000]


def _record(header: bytes, payload: bytes = b"") -> bytes:
    return MAGIC + struct.pack("<I", len(header)) + header + payload


def _hostile_file(rng: random.Random) -> bytes:
    kind = rng.randrange(9)
    good = json.dumps({"id": "ok", "meta": {"status": "ok"}, "arrays": [["r0", "<f8", [2]]]}).encode()
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
    if kind == 1:  # a valid record cut anywhere
        whole = _record(good, np.arange(2.0).tobytes())
        return whole[: rng.randrange(len(whole))]
    if kind == 2:  # a header that claims a huge array
        n = rng.choice([10**6, 10**12, MAX_ARRAY_ELEMENTS + 1, -1])
        return _record(json.dumps({"id": "x", "meta": {}, "arrays": [["r0", "<f8", [n, n]]]}).encode())
    if kind == 3:  # deep nesting
        depth = rng.randrange(20, 200_000)
        return _record(b'{"id": "x", "meta": ' + b"[" * depth + b"]" * depth + b', "arrays": []}')
    if kind == 4:  # odd dtypes and shapes
        spec = rng.choice([["r0", "|O", [1]], ["r0", "<f8", "x"], ["r0", "<f8", [1.5]], ["r0", ">f8", [1]],
                           [1, 2, 3], ["r0", "<f8", [True]], ["r0", "<f8", [1] * 20]])
        return _record(json.dumps({"id": "x", "meta": {}, "arrays": [spec]}).encode(), b"\0" * 64)
    if kind == 5:  # a header length far past the end
        return MAGIC + struct.pack("<I", rng.choice([2**31, 2**32 - 1, 10**6])) + b"{}"
    if kind == 6:  # strings with lone surrogates (valid JSON escapes)
        text = json.dumps({"id": "\\ud800" + rng.choice(NASTY), "meta": {"stdout": rng.choice(NASTY)},
                           "arrays": []}, ensure_ascii=True).encode()
        return _record(text.replace(b"\\\\ud800", b"\\ud800"))
    if kind == 7:  # garbage between two good records
        return _record(good, np.ones(2).tobytes()) + bytes(rng.randrange(256) for _ in range(50)) + \
            _record(good.replace(b'"ok"', b'"ok2"', 1), np.ones(2).tobytes())
    return _record(b"not json at all" * rng.randrange(1, 50))


def test_the_records_reader_survives_thousands_of_hostile_files(tmp_path: Path) -> None:
    rng = random.Random(20261207)
    path = tmp_path / "records.bin"
    survivors = 0
    for _ in range(3000):
        path.write_bytes(_hostile_file(rng))
        for final in (True, False):
            parsed = read_records(str(path), final=final)
            for record in parsed.records.values():
                assert safe_text(record.call_id) == record.call_id
                assert all(a.size <= MAX_ARRAY_ELEMENTS for a in record.arrays.values())
                json.dumps(record.meta).encode("utf-8")  # every string is encodable
            survivors += bool(parsed.records)
    assert survivors > 100  # the good records among the garbage are still read


def test_json_depth_is_counted_outside_strings_and_control_characters_are_replaced() -> None:
    from grader.worker.records import MAX_JSON_DEPTH, RecordError, _load_json

    deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    with pytest.raises(RecordError, match="nested deeper"):
        _load_json(deep)
    assert _load_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is not None
    in_string = json.dumps({"s": "[" * 1000 + '\\"{' * 50, "n": [[1]]}).encode()
    assert _load_json(in_string)["n"] == [[1]]  # brackets (and escaped quotes) inside a string do not nest
    with pytest.raises(RecordError, match="nested deeper"):  # a quote escaped in a string does not end it early
        _load_json(b'{"s": "\\"' + b"[" * 30 + b'", "d": ' + deep + b"}")
    assert safe_text("a\x00b\x1b\x7f\n\tc") == "a\ufffdb\ufffd\ufffd\n\tc"
    assert safe_text("\ud800é") == "\\ud800é" and safe_text("x" * 50, 10) == "x" * 10 + "…"


def test_strings_written_without_escapes_are_bounded_and_cleaned_like_escaped_ones(tmp_path: Path) -> None:
    """The reader skips the per-string pass only for text that cannot need it: a raw DEL, raw
    non-ASCII, a long key or a long value must come out exactly as safe_value makes it."""
    from grader.worker.records import SAFE_KEY, safe_value

    path = tmp_path / "records.bin"
    metas = [{"k" * (SAFE_KEY + 50): 1}, {"stdout": "x" * 30_000}, {"s": "a\x7fb"}, {"s": "\u00e9\u202e"},
             {"s": "tab\there"}, {"plain": ["ok", 1, {"nested": "fine"}]}, {"near": "y" * SAFE_KEY}]
    for meta in metas:
        raw = json.dumps({"id": "c", "meta": meta, "arrays": []}, ensure_ascii=False).encode()
        path.write_bytes(_record(raw))
        got = read_records(str(path)).records["c"].meta
        assert got == safe_value(meta), meta
        assert "\x7f" not in json.dumps(got, ensure_ascii=False)
    assert b"\x7f" in json.dumps(metas[2], ensure_ascii=False).encode()  # the DEL above was written raw
    long_key = json.dumps({"id": "c", "meta": metas[0], "arrays": []}).encode()
    path.write_bytes(_record(long_key))
    assert len(next(iter(read_records(str(path)).records["c"].meta))) == SAFE_KEY + 1  # cut, with its ellipsis


def test_a_bad_record_costs_only_its_own_call(tmp_path: Path) -> None:
    path = tmp_path / "records.bin"
    writer = RecordWriter(str(path))
    writer.write("first", {"status": "ok"}, {"r0": np.arange(3.0)})
    with open(path, "ab") as handle:
        handle.write(_record(json.dumps({"id": "bad", "meta": {}, "arrays": [["r0", "<f8", [10**12]]]}).encode()))
        handle.write(b"\xff" * 100)
    writer.write("last", {"status": "ok", "note": "\ud800"}, {"r0": np.ones((2, 2), dtype=np.float32)})
    parsed = read_records(str(path))
    assert sorted(parsed.records) == ["first", "last"]
    assert parsed.records["last"].meta["note"] == "\\ud800"
    assert parsed.records["last"].arrays["r0"].dtype == np.float32
    assert parsed.error.startswith("malformed output record") and not parsed.fatal


def _hostile_result(rng: random.Random) -> GradeResult:
    tests = []
    for spec in load_rubric().tests:
        message = rng.choice(NASTY)
        case = CaseResult(f"{spec.id}.0", rng.choice(NASTY), passed=False, message=message,
                          reproducer=rng.choice(NASTY), notes=[rng.choice(NASTY)])
        tests.append(GradedTest(spec.id, spec.name, spec.number, spec.function, spec.check, 0.0, spec.points,
                                Status.FAILED, spec.visibility, summary=rng.choice(NASTY), hint=rng.choice(NASTY),
                                cases=[case], events=[SandboxEvent("crash", rng.choice(NASTY), rng.choice(NASTY))]))
    return GradeResult(SubmissionFiles(root=rng.choice(NASTY), word2vec="word2vec.py", notes=[rng.choice(NASTY)]),
                       tests, 0.0, 16.0, 1.0, "0", "r", "h", events=[SandboxEvent("note", rng.choice(NASTY))],
                       integrity="strong")


def test_writers_turn_hostile_strings_into_valid_files(tmp_path: Path) -> None:
    from grader.batch.store import ResultStore

    rng = random.Random(7)
    rubric = load_rubric()
    store = ResultStore(tmp_path / "results.jsonl")
    for i in range(25):
        result = _hostile_result(rng)
        data = to_results_json(result, rubric)
        validate_results(data)
        out = write_results_json(tmp_path / f"results{i}.json", data)
        json.loads(out.read_text(encoding="utf-8"))
        report = tmp_path / f"report{i}.html"
        write_report(result, report)
        assert report.read_bytes().decode("utf-8") and b"<script>alert(1)" not in report.read_bytes()
        store.append({"key": f"k{i}", "result": to_jsonable(result)})
    assert len(store.load()) == 25
