"""Check the reference solution against symbolic derivations of the handout's math.

Runs :func:`reference.derivations.verify_all` (every gradient the reference
uses: derived with sympy from the loss, proved equal to the implemented
closed form, compared numerically with ``reference/word2vec.py``) and the
prover self-check :func:`reference.derivations.verify_wrong_forms`
(deliberately wrong closed forms that must *not* be proved), and renders
both as a plain-text table.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # heavy (sympy) import kept out of module import time
    from reference.derivations import DerivationResult

TICK, CROSS = "✓", "✗"


@dataclass
class VerifyReport:
    """Results of one ``verify-reference`` run.

    Attributes
    ----------
    derivations : rows that must be proved and agree with the reference (≤ tolerance).
    wrong_forms : prover self-check rows that must be rejected (``proved`` False).
    tolerance : numeric tolerance used for ``derivations``.
    seconds : wall time of the whole run.
    """

    derivations: list[DerivationResult]
    wrong_forms: list[DerivationResult]
    tolerance: float
    seconds: float

    @property
    def ok(self) -> bool:
        """Every derivation proved and within tolerance, every wrong form rejected."""
        return all(r.ok for r in self.derivations) and all(r.ok for r in self.wrong_forms)

    @property
    def failures(self) -> list[DerivationResult]:
        """Rows that are not ``ok``."""
        return [r for r in self.derivations + self.wrong_forms if not r.ok]


def import_derivations() -> ModuleType:
    """Import :mod:`reference.derivations`, adding the repository root to sys.path if needed.

    Raises ImportError when the ``reference`` package is neither importable
    nor present beside the ``grader`` package.
    """
    try:
        return importlib.import_module("reference.derivations")
    except ModuleNotFoundError as exc:
        if exc.name not in ("reference", "reference.derivations"):
            raise
        root = Path(__file__).resolve().parents[1]
        if not (root / "reference" / "derivations.py").is_file():
            raise
        sys.path.insert(0, str(root))
        return importlib.import_module("reference.derivations")


def run_verification(seed: int = 0, points: int = 5, self_check: bool = True) -> VerifyReport:
    """Prove all derivations and compare with the reference at ``points`` random points each."""
    derivations = import_derivations()
    start = time.perf_counter()
    w2v = derivations.load_reference_word2vec()
    rows = derivations.verify_all(seed=seed, word2vec=w2v, n_points=points)
    wrong = derivations.verify_wrong_forms(seed=seed, word2vec=w2v) if self_check else []
    return VerifyReport(rows, wrong, derivations.TOLERANCE, time.perf_counter() - start)


def _format_row(r: DerivationResult, name_w: int, formula_w: int) -> str:
    mark = TICK if r.proved else CROSS
    status = "ok" if r.ok else "FAIL"
    line = f"{r.name:<{name_w}}  {r.formula:<{formula_w}}  {mark:^6}  {r.max_error:>9.2e}  {r.seconds:>6.2f}  {status}"
    return line + (f"  ({r.detail})" if r.detail else "")


def format_table(rows: Sequence[DerivationResult], title: str, error_label: str = "max err") -> str:
    """A fixed-width table: name, formula, proved ✓/✗, numeric max error, seconds, ok/FAIL."""
    name_w = max([len("name")] + [len(r.name) for r in rows])
    formula_w = max([len("claim")] + [len(r.formula) for r in rows])
    header = f"{'name':<{name_w}}  {'claim':<{formula_w}}  proved  {error_label:>9}  {'sec':>6}  status"
    lines = [title, header, "-" * len(header)]
    lines += [_format_row(r, name_w, formula_w) for r in rows]
    return "\n".join(lines)


def format_report(report: VerifyReport) -> str:
    """The whole report: derivation table, self-check table and a summary line."""
    parts = [
        format_table(
            report.derivations,
            f"Reference derivations (sympy from the loss; numeric tolerance {report.tolerance:g})",
        )
    ]
    if report.wrong_forms:
        parts.append(
            format_table(
                report.wrong_forms,
                "Prover self-check: wrong closed forms must NOT be proved (error = wrong form vs reference)",
                error_label="error",
            )
        )
    n_fail = len(report.failures)
    verdict = "all derivations verified" if report.ok else f"{n_fail} row(s) FAILED"
    parts.append(f"{verdict} in {report.seconds:.1f} s")
    return "\n\n".join(parts)
