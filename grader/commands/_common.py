"""Helpers shared by command modules (not a command: the leading underscore hides it from the CLI)."""

from __future__ import annotations

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
