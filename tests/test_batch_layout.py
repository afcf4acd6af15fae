"""Batch building blocks without the engine: layouts, slugs, hashes, results.jsonl, CSV, locks."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import time
import zipfile
from pathlib import Path

import pytest
from test_batch_support import STUDENTS, copy_submission, make_gradescope_export, zip_folder

from grader.batch.filelock import FileLock
from grader.batch.hashing import input_hash, pack_submission, submission_hash
from grader.batch.layout import LayoutError, assign_keys, detect_layout, load_metadata, slugify
from grader.batch.outputs import grades_csv
from grader.batch.store import ResultStore


def _student_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "word2vec.py").write_text("def sigmoid(x):\n    return x\n")
    (path / "sgd.py").write_text("def sgd(): pass\n")
    return path


# --- layouts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("colons", [True, False])
def test_gradescope_export_folder(tmp_path: Path, colons: bool) -> None:
    export = make_gradescope_export(tmp_path, colons=colons)
    # Pointing at the folder above the wrapper works too.
    for target in (export, tmp_path):
        batch = detect_layout(target)
        assert batch.layout == "gradescope"
        assert len(batch.items) == len(STUDENTS)
        by_sid = {it.student.student_ids[0]: it for it in batch.items}
        ada = by_sid["1000001"]
        assert ada.student.names == ["Ada Lovelace"]
        assert ada.student.emails == ["ada@example.edu"]
        assert ada.student.submission_id == "submission_2000001"
        assert ada.key == "ada-lovelace-1000001"
        assert ada.path == export / "submission_2000001"
        assert ada.label == "Ada Lovelace (1000001)"
        assert by_sid["1000003"].key == "jose-nunez-o-brien-1000003"
        assert all(it.key == slugify(it.key) for it in batch.items)


def test_gradescope_export_zip(tmp_path: Path) -> None:
    export = make_gradescope_export(tmp_path / "src")
    archive = zip_folder(export, tmp_path / "export.zip", prefix="assignment_1234_export")
    with detect_layout(archive) as batch:
        assert batch.layout == "gradescope"
        assert len(batch.items) == len(STUDENTS)
        assert all(it.path.is_dir() and (it.path / "word2vec.py").exists() for it in batch.items)
        root = batch.root
    assert not root.exists(), "the extracted export is removed on cleanup"


def test_gradescope_group_submission_and_extra_folder(tmp_path: Path) -> None:
    export = tmp_path / "export"
    _student_folder(export / "submission_1")
    _student_folder(export / "submission_2")
    _student_folder(export / "stray_folder")
    (export / "submission_metadata.yml").write_text(
        "submission_1:\n"
        "  :submitters:\n"
        "  - :name: A One\n    :sid: '11'\n    :email: a@x.edu\n"
        "  - :name: B Two\n    :sid: '22'\n    :email: b@x.edu\n"
        "  :created_at: 2024-01-01 10:00:00.123456789 -08:00\n"
        "  :history: !ruby/object:Something\n    foo: bar\n"
        "submission_2:\n  :submitters: []\n"
        "submission_9:\n  :submitters:\n  - :name: Gone\n")
    batch = detect_layout(export)
    keys = [it.key for it in batch.items]
    assert keys == ["a-one-11", "stray_folder", "submission_2"]
    group = batch.items[0]
    assert group.student.names == ["A One", "B Two"] and group.student.student_ids == ["11", "22"]
    assert group.label == "A One & B Two (11, 22)"
    assert any("submission_9" in n for n in batch.notes)
    assert any("stray_folder" in n for n in batch.notes)


def test_folder_of_student_folders(tmp_path: Path) -> None:
    for name in ("Alice Smith", "bob", "carol"):
        _student_folder(tmp_path / "class" / name)
    (tmp_path / "class" / "roster.csv").write_text("x")
    (tmp_path / "class" / ".DS_Store").write_text("x")
    (tmp_path / "class" / "__MACOSX").mkdir()
    batch = detect_layout(tmp_path / "class")
    assert batch.layout == "folders"
    assert [it.key for it in batch.items] == ["alice-smith", "bob", "carol"]
    assert batch.items[0].student.names == ["Alice Smith"]
    assert batch.items[0].source == "Alice Smith"
    assert any("roster.csv" in n for n in batch.notes)


def test_folder_of_student_zips(tmp_path: Path) -> None:
    (tmp_path / "class").mkdir()
    for name in ("alice", "bob"):
        src = _student_folder(tmp_path / "src" / name)
        zip_folder(src, tmp_path / "class" / f"{name}.zip", prefix=name)
    batch = detect_layout(tmp_path / "class")
    assert batch.layout == "zips"
    assert [it.key for it in batch.items] == ["alice", "bob"]
    assert batch.items[0].path.suffix == ".zip"


def test_unknown_layouts_are_explained(tmp_path: Path) -> None:
    odd = tmp_path / "odd"
    odd.mkdir()
    for name in ("notes.txt", "grades.xlsx", "photo.png"):
        (odd / name).write_text("x")
    with pytest.raises(LayoutError) as err:
        detect_layout(odd)
    message = str(err.value)
    assert "Cannot tell how" in message and "Gradescope" in message and "one folder per student" in message
    assert "3 other file(s)" in message and "notes.txt" in message

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LayoutError, match="Found: 0 folder"):
        detect_layout(empty)

    single = _student_folder(tmp_path / "single")
    with pytest.raises(LayoutError, match="single submission"):
        detect_layout(single)

    (tmp_path / "plain.txt").write_text("x")
    with pytest.raises(LayoutError, match="not a zip"):
        detect_layout(tmp_path / "plain.txt")
    with pytest.raises(LayoutError, match="does not exist"):
        detect_layout(tmp_path / "missing")

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "submission_metadata.yml").write_text("- just\n- a list\n")
    with pytest.raises(LayoutError, match="should map submission folders"):
        detect_layout(bad)


def test_zip_extraction_is_safe(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escape.txt", "x")
        zf.writestr("/abs.txt", "x")
        zf.writestr("class/alice/word2vec.py", "x = 1\n")
        zf.writestr("class/bob/word2vec.py", "x = 2\n")
    with detect_layout(archive) as batch:
        assert [it.key for it in batch.items] == ["alice", "bob"]
    assert not (tmp_path / "escape.txt").exists()


# --- slugs and keys ----------------------------------------------------------------------------------


def test_slugs() -> None:
    assert slugify("José Núñez") == "jose-nunez"
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert slugify("...") == "student"
    assert slugify("李雷") == "student"
    assert slugify("A" * 200) == "a" * 64
    assert not slugify(".hidden").startswith(".")


def test_keys_are_unique_and_order_independent() -> None:
    pairs = [("sam", "submission_1"), ("sam", "submission_2"), ("kim", "submission_3")]
    keys = assign_keys(pairs)
    assert keys == ["sam--submission_1", "sam--submission_2", "kim"]
    assert assign_keys(list(reversed(pairs))) == list(reversed(keys))
    tricky = [("x", "a b"), ("x", "a-b")]
    assert len(set(assign_keys(tricky))) == 2


def test_metadata_loader_tolerates_ruby_tags(tmp_path: Path) -> None:
    path = tmp_path / "submission_metadata.yml"
    path.write_text("submission_1: !ruby/hash:ActiveSupport::HashWithIndifferentAccess\n"
                    "  :submitters:\n  - :name: X\n")
    assert load_metadata(path) == {"submission_1": {"submitters": [{"name": "X"}]}}


# --- hashing -----------------------------------------------------------------------------------------


def test_submission_hash_tracks_content_not_time(tmp_path: Path) -> None:
    a = copy_submission("reference", tmp_path / "a")
    h1 = submission_hash(a)
    time.sleep(0.01)
    (a / "word2vec.py").touch()
    (a / "__pycache__").mkdir()
    (a / "__pycache__" / "x.pyc").write_bytes(b"junk")
    assert submission_hash(a) == h1, "timestamps and __pycache__ do not count"
    b = copy_submission("reference", tmp_path / "b")
    assert submission_hash(b) == h1, "same content, same hash"
    (b / "sgd.py").write_text((b / "sgd.py").read_text() + "\n# edit\n")
    assert submission_hash(b) != h1
    assert input_hash(h1, "r1", "0.1") != input_hash(h1, "r2", "0.1") != input_hash(h1, "r1", "0.2")
    with pytest.raises(FileNotFoundError):
        submission_hash(tmp_path / "gone")


def test_pack_submission_is_deterministic(tmp_path: Path) -> None:
    a = copy_submission("reference", tmp_path / "a")
    first = pack_submission(a)
    time.sleep(1.1)
    (a / "word2vec.py").touch()
    assert pack_submission(a) == first
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        assert sorted(zf.namelist()) == ["sgd.py", "word2vec.py"]


# --- results.jsonl -----------------------------------------------------------------------------------


def test_store_survives_a_torn_line(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results.jsonl")
    store.append({"key": "a", "n": 1})
    store.append({"key": "b", "n": 1})
    with open(store.path, "ab") as f:
        f.write(b'{"key": "c", "n": ')  # killed mid-write
    assert set(store.load()) == {"a", "b"} and store.skipped_lines == 1
    store.append({"key": "a", "n": 2})
    records = store.load()
    assert records["a"]["n"] == 2 and store.skipped_lines == 1
    store.rewrite([records["a"], records["b"]])
    lines = store.path.read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["a", "b"]


# --- grades.csv --------------------------------------------------------------------------------------


def test_grades_csv_shape_and_formula_escaping(tmp_path: Path) -> None:
    from grader.batch.layout import BatchItem
    from grader.results import StudentInfo

    items = [
        BatchItem("ok", tmp_path, "submission_1", StudentInfo("submission_1", ["Ada"], ["ada@x.edu"], ["1"]), "Ada"),
        BatchItem("evil", tmp_path, "submission_2",
                  StudentInfo("submission_2", ['=HYPERLINK("http://x")'], ["e@x.edu"], ["2"]), "Eve"),
        BatchItem("broken", tmp_path, "submission_3", StudentInfo("submission_3", ["Bo"], [], []), "Bo"),
    ]
    result = {"score": 1.5, "max_score": 2.0, "tests": [{"test_id": "t.a", "score": 1.0}, {"test_id": "t.b",
                                                                                             "score": 0.5}]}
    records = [{"status": "graded", "result": result}, {"status": "graded", "result": result},
               {"status": "grader_error", "error": "boom\ntraceback", "result": None}]
    text = grades_csv(list(zip(items, records)), ["t.a", "t.b"])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:6] == ["id", "name", "email", "total", "t.a", "t.b"]
    assert rows[1][:6] == ["1", "Ada", "ada@x.edu", "1.5", "1", "0.5"]
    assert rows[2][1] == "'=HYPERLINK(\"http://x\")"
    assert rows[3][0] == "submission_3" and rows[3][3] == "" and rows[3][rows[0].index("status")] == "grader_error"
    assert rows[3][rows[0].index("error")] == "boom"
    assert [r[-1] for r in rows] == ["exit", "0", "0", "3"]  # grade's exit code for each row


def test_csv_exit_column_matches_grade_for_an_unusable_submission() -> None:
    from grader.batch.outputs import row_exit_code

    problem = {"kind": "missing_file", "message": "word2vec.py is missing: you submitted the notebook instead."}
    assert row_exit_code({"status": "graded", "result": {"submission": {"problems": [problem]}}}) == 1
    assert row_exit_code({"status": "graded", "result": {"submission": {"problems": []}}}) == 0


# --- FileLock ----------------------------------------------------------------------------------------


def _hold(path: str, seconds: float, ready) -> None:
    with FileLock(path):
        ready.set()
        time.sleep(seconds)


def test_file_lock_excludes_other_processes_and_threads(tmp_path: Path) -> None:
    path = str(tmp_path / "speed.lock")
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_hold, args=(path, 1.0, ready))
    proc.start()
    try:
        assert ready.wait(30)
        lock = FileLock(path)
        assert lock.acquire(timeout=0) is False
        started = time.monotonic()
        with FileLock(path, timeout=30):
            waited = time.monotonic() - started
        assert waited > 0.3
    finally:
        proc.join(30)
    # Two objects in one process (threads of a Dask worker) exclude each other too.
    a, b = FileLock(path), FileLock(path)
    with a:
        assert b.acquire(timeout=0) is False
    assert b.acquire(timeout=0) is True
    b.release()
    # Pickles as a path only.
    import pickle

    assert pickle.loads(pickle.dumps(a)).path == path


def test_file_lock_slots_admit_that_many_holders(tmp_path: Path) -> None:
    path = tmp_path / "speed.lock"
    a, b, c = (FileLock(path, slots=2) for _ in range(3))
    assert a.acquire(timeout=0) and b.acquire(timeout=0)
    assert c.acquire(timeout=0) is False, "two slots, two holders"
    a.release()
    assert c.acquire(timeout=0)
    b.release()
    c.release()
    import pickle

    assert pickle.loads(pickle.dumps(FileLock(path, slots=3))).slots == 3
