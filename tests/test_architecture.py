"""The shape of the code: the import graph has no cycles and no stage imports a later one; points are added up
only by the score stage."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import import_graph  # noqa: E402 - benchmarks/import_graph.py


def test_import_graph_has_no_cycles_and_no_upward_imports() -> None:
    assert import_graph.check() == []


def test_only_the_score_stage_adds_up_points() -> None:
    """No ``sum(... score ...)`` outside grader/score/: every total comes from grader.score.tally."""
    offenders = []
    for path in sorted((REPO / "grader").rglob("*.py")):
        if path.is_relative_to(REPO / "grader" / "score") or path.is_relative_to(REPO / "grader" / "written"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "sum" and node.args:
                summed = node.args[0]
                element = summed.elt if isinstance(summed, (ast.GeneratorExp, ast.ListComp)) else summed
                if "score" in ast.unparse(element):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)}")
    assert not offenders, "\n".join(offenders)
