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
