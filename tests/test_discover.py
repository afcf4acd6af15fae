"""Discovery: finding the files anywhere, and a clear message for every kind of bad input."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from grader.discover import DiscoveryError, discover

REPO = Path(__file__).resolve().parents[1]
W2V = (REPO / "reference" / "word2vec.py").read_text(encoding="utf-8")
SGD = (REPO / "reference" / "sgd.py").read_text(encoding="utf-8")


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def test_zip_with_nested_folder_and_macosx_junk(tmp_path):
    archive = make_zip(tmp_path / "s.zip", {
        "__MACOSX/a2/._word2vec.py": b"\x00\x05\x16\x07junk",
        "a2/word2vec.py": W2V.encode(), "a2/sgd.py": SGD.encode(), "a2/utils/utils.py": b"# student's copy",
    })
    found = discover(archive)
    try:
        assert found.files.word2vec == "a2/word2vec.py" and found.files.sgd == "a2/sgd.py"
        assert not found.files.problems
        assert "sigmoid" in found.usable_functions() and "sgd" in found.usable_functions()
        assert any("utils/ folder was ignored" in n for n in found.files.notes)
    finally:
        found.cleanup()


def test_zip_slip_entries_are_not_extracted(tmp_path):
    archive = make_zip(tmp_path / "evil.zip", {"../../escaped.py": b"x = 1", "word2vec.py": W2V.encode()})
    found = discover(archive)
    try:
        assert not (tmp_path.parent / "escaped.py").exists()
        assert found.files.word2vec == "word2vec.py"
    finally:
        found.cleanup()


def test_notebook_instead_of_py(tmp_path):
    (tmp_path / "word2vec.ipynb").write_text('{"cells": []}', encoding="utf-8")
    (tmp_path / "sgd.py").write_text(SGD, encoding="utf-8")
    found = discover(tmp_path)
    (problem,) = found.files.problems
    assert problem.kind == "missing_file" and "notebook word2vec.ipynb" in problem.message
    assert "nbconvert" in problem.detail
    assert found.reports["sgd.py"].usable


def test_wrong_letter_case_and_missing_file(tmp_path):
    (tmp_path / "Word2Vec.py").write_text(W2V, encoding="utf-8")
    found = discover(tmp_path)
    messages = " ".join(p.message for p in found.files.problems)
    assert "letter case" in messages and "sgd.py was not found" in messages


def test_non_utf8_source_names_the_line(tmp_path):
    (tmp_path / "word2vec.py").write_bytes(W2V.encode() + "\n# café\n".encode("latin-1"))
    (tmp_path / "sgd.py").write_text(SGD, encoding="utf-8")
    found = discover(tmp_path)
    (problem,) = found.files.problems
    assert "not valid UTF-8" in problem.message and "line" in problem.message and "UTF-8" in problem.detail
    assert not found.reports["word2vec.py"].usable and found.reports["sgd.py"].usable


def test_syntax_error_is_located(tmp_path):
    (tmp_path / "word2vec.py").write_text("def sigmoid(x):\n    return (1 /\n", encoding="utf-8")
    (tmp_path / "sgd.py").write_text(SGD, encoding="utf-8")
    (problem,) = discover(tmp_path).files.problems
    assert problem.kind == "syntax_error" and "line" in problem.message


def test_missing_function_and_wrong_signature(tmp_path):
    source = W2V.replace("def naiveSoftmaxLossAndGradient(", "def naiveSoftmaxLossAndGradient_old(")
    source = source.replace("def skipgram(", "def skipgram(extra_required, ")
    (tmp_path / "word2vec.py").write_text(source, encoding="utf-8")
    (tmp_path / "sgd.py").write_text(SGD, encoding="utf-8")
    found = discover(tmp_path)
    kinds = {p.function: p.kind for p in found.files.problems}
    assert kinds.get("naiveSoftmaxLossAndGradient") == "missing_function", found.files.problems
    assert kinds.get("skipgram") == "bad_signature"
    assert "sigmoid" in found.usable_functions() and "skipgram" not in found.usable_functions()


def test_prefixed_utils_imports_are_detected(tmp_path):
    source = "from a2.utils.utils import softmax\nfrom CS224n.a2.utils.gradcheck import gradcheck_naive\n" + W2V
    (tmp_path / "word2vec.py").write_text(source, encoding="utf-8")
    assert discover(tmp_path).reports["word2vec.py"].utils_prefixes == ["CS224n.a2", "a2"]


def test_not_a_submission(tmp_path):
    with pytest.raises(DiscoveryError, match="does not exist"):
        discover(tmp_path / "nothing")
    bad = tmp_path / "file.txt"
    bad.write_text("hello", encoding="utf-8")
    with pytest.raises(DiscoveryError, match="neither a folder nor a .zip"):
        discover(bad)


def test_tampering_is_flagged_but_main_guard_is_not(tmp_path):
    source = W2V + "\nimport numpy\nnumpy.allclose = lambda *a, **k: True\nopen('/autograder/results/x')\n" \
        "if __name__ == '__main__':\n    import sys\n    sys.exit(0)\n"
    (tmp_path / "word2vec.py").write_text(source, encoding="utf-8")
    (tmp_path / "sgd.py").write_text(SGD, encoding="utf-8")
    (event,) = [p for p in discover(tmp_path).files.problems if p.kind == "suspicious"]
    assert "replaces numpy.allclose" in event.detail and "/autograder/results" in event.detail
    assert "sys.exit" not in event.detail
    assert not [p for p in discover_clean(tmp_path).files.problems if p.kind == "suspicious"]


def discover_clean(tmp_path):
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "word2vec.py").write_text(W2V, encoding="utf-8")
    (clean / "sgd.py").write_text(SGD, encoding="utf-8")
    return discover(clean)


def test_one_extraction_routine_with_its_limits(tmp_path):
    """Submissions and class exports go through the same extract_zip; only the bounds differ."""
    import stat

    from grader.discover.archive import EXPORT_ZIP, SUBMISSION_ZIP, ArchiveError, ZipLimits, extract_zip

    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/word2vec.py", W2V)
        zf.writestr("a\\sgd.py", SGD)  # a Windows separator is a folder separator
        link = zipfile.ZipInfo("a/link.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    for limits in (SUBMISSION_ZIP, EXPORT_ZIP):
        dest = tmp_path / limits.members_word.replace(" ", "_")
        dest.mkdir()
        extract_zip(archive, dest, limits)
        assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.py")) == ["a/sgd.py", "a/word2vec.py"]
    with pytest.raises(ArchiveError, match="more than 2 files in the zip"):
        extract_zip(archive, tmp_path, ZipLimits(max_members=2, max_bytes=10**9, members_word="files in the zip"))
    big = make_zip(tmp_path / "big.zip", {"word2vec.py": b"\n" * (2**20 + 1)})
    with pytest.raises(ArchiveError, match="uncompressed size is over 1 MB"):
        extract_zip(big, tmp_path, ZipLimits(max_members=10, max_bytes=2**20, members_word="x"))
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ArchiveError, match="not a readable zip"):
        extract_zip(tmp_path / "bad.zip", tmp_path, SUBMISSION_ZIP)
