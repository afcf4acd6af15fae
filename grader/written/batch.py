"""Batch mode: every answer sheet (.md, .tex, .txt) in a folder, one report row per student per part."""

from __future__ import annotations

from pathlib import Path

from grader.written.grade import StudentReport, grade_file

SUFFIXES = (".md", ".tex", ".txt", ".markdown")


def answer_files(folder: Path) -> list[Path]:
    """Answer sheets in ``folder`` (recursively), sorted; hidden files and folders are skipped."""
    files = []
    for path in sorted(Path(folder).rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            files.append(path)
    return files


def student_name(path: Path, folder: Path) -> str:
    """The student's name: the file's path inside the folder, without suffix."""
    rel = path.relative_to(folder)
    return str(rel.with_suffix("")).replace("\\", "/")


def grade_folder(folder: Path, handout: str = "2024") -> list[StudentReport]:
    """Grade every answer sheet of ``folder``; a sheet that cannot be read still gets a report."""
    reports = []
    for path in answer_files(folder):
        report = grade_file(path, handout)
        report.student = student_name(path, folder)
        reports.append(report)
    return reports
