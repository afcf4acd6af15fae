"""Helpers shared by command modules (not a command: the leading underscore hides it from the CLI)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Optional


def load_rubric_or_report(path: Optional[Path]):
    """The rubric at ``path`` (default rubric if None), or None after printing why it is invalid."""
    from grader.rubric import RubricError, load_rubric

    try:
        return load_rubric(path)
    except RubricError as exc:
        print(f"w2v-grader: {exc}", file=sys.stderr)
        return None


_ROLE = re.compile(r":(?:func|mod|class|data|meth):`~?([^`]+)`")


def plain(doc: str) -> str:
    """A docstring as plain help text: no reStructuredText double backticks or roles."""
    return _ROLE.sub(r"\1", doc or "").replace("``", "").strip()


def help_text(doc: str) -> dict:
    """``add_parser`` keywords for a plain-text description from a module docstring (paragraphs kept)."""
    return {"description": plain(doc), "formatter_class": argparse.RawDescriptionHelpFormatter}


def grade_and_write(path: Path, rubric, *, mode: str, json_path: Optional[Path], html_path: Optional[Path],
                    audience: str, quiet: bool) -> int:
    """Grade, write the requested files, print the terminal summary; returns the exit code (one scheme).

    ``json_path``: ``grade`` writes Gradescope's results.json; ``check`` (the kit has no Gradescope
    code) writes the self-check's summary (:func:`grader.report.terminal.summary_json`).
    """
    from grader.pipeline import grade_submission
    from grader.report.policy import exit_code
    from grader.report.terminal import print_summary

    result = grade_submission(path, rubric, mode=mode)  # never raises: a grader failure is result.internal_error
    if json_path and mode == "grade":
        from grader.gradescope.results_json import to_results_json, write_results_json

        write_results_json(json_path, to_results_json(result, rubric))
    elif json_path:
        import json

        from grader.report.terminal import summary_json

        Path(json_path).write_text(json.dumps(summary_json(result, audience), indent=2) + "\n", encoding="utf-8")
    if html_path:
        from grader.report import write_report

        try:
            write_report(result, html_path, audience=audience)
        except OSError as exc:
            print(f"w2v-grader: could not write the report: {exc}", file=sys.stderr)
            html_path = None
    if not quiet:
        print_summary(result, html_path=html_path, audience=audience)
    return exit_code(result)
