"""Reports and CLI: JSON contract, CSV rows, escaped self-contained HTML, batch mode."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from grader.written.grade import grade_text
from grader.written.report import render_html, to_csv, to_json
from grader.written.verdict import PART_IDS, Verdict

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).with_name("written_fixtures")

EVIL = """## (a)
<script>alert("x")</script> & <b>bold</b>

## (g)
$$\\sigma'(x) = \\sigma(x)(1-\\sigma(x))$$
"""


def test_json_contract_has_every_part() -> None:
    data = to_json([grade_text(EVIL, "evil")])
    assert [p["part"] for p in data["parts"]] == list(PART_IDS)
    for p in data["parts"]:
        assert set(p) >= {"part", "verdict", "latex", "reason", "source"}
        assert p["verdict"] in {v.value for v in Verdict}
    g = next(p for p in data["parts"] if p["part"] == "g")
    assert g["verdict"] == "CORRECT" and "\\sigma" in g["latex"] and g["source"].startswith("student's (g)")
    json.dumps(data)


def test_html_is_escaped_and_self_contained() -> None:
    html = render_html([grade_text(EVIL, "evil <i>")])
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "evil &lt;i&gt;" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert "Content-Security-Policy" in html and 'name="viewport"' in html
    assert "correct" in html and "needs a human" in html  # status in words, not colour only


def test_csv_one_row_per_student_per_part() -> None:
    reports = [grade_text(EVIL, "one"), grade_text("## (b)\nAnswer here.\n", "two")]
    rows = list(csv.DictReader(io.StringIO(to_csv(reports))))
    assert len(rows) == 2 * (len(PART_IDS) + 1)
    assert {r["student"] for r in rows} == {"one", "two"}


def test_cli_single_and_batch(tmp_path: Path) -> None:
    out_json, out_html, out_csv = tmp_path / "r.json", tmp_path / "r.html", tmp_path / "r.csv"
    cmd = [sys.executable, "-m", "grader", "written", str(FIXTURES / "words_and_rows.txt"), "--json", str(out_json),
           "--html", str(out_html)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(out_json.read_text())["parts"][0]["part"] == "a"
    assert out_html.read_text().startswith("<!DOCTYPE html>")
    folder = tmp_path / "sheets"
    folder.mkdir()
    (folder / "alice.md").write_text(EVIL)
    (folder / "bob.tex").write_text("\\begin{document}\\begin{enumerate}\\item x\\end{enumerate}\\end{document}")
    done = subprocess.run([sys.executable, "-m", "grader", "written", str(folder), "--csv", str(out_csv),
                           "--json", str(out_json)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out_csv.open()))
    assert {r["student"] for r in rows} == {"alice", "bob"}
    assert len(json.loads(out_json.read_text())["students"]) == 2


def test_cli_missing_file() -> None:
    done = subprocess.run([sys.executable, "-m", "grader", "written", "/nonexistent.md"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "does not exist" in done.stderr
