"""Written checker accuracy on answer sheets it was not built from (issue #19).

Grades every sheet under ``tests/written_sheets/dev`` and ``tests/written_sheets/heldout`` (each
``NAME.{md,tex,txt}`` beside ``NAME.labels.toml``: the verdict a careful grader gives per part,
parts not listed are UNANSWERED) and the two real samples of ``../shared/written_samples`` (labels
in ``tests/written_sheets/shared_labels.toml``; skipped with a note when ``../shared`` is absent).

Prints per sheet: parts agreeing with the labels, wrong CORRECT (checker CORRECT, label not),
false INCORRECT (checker INCORRECT or another failing verdict on a part the label calls
UNANSWERED or CORRECT), the time; then totals per set and per kind of expected verdict.

Usage: python benchmarks/written_accuracy.py [--json FILE] [--verbose]
Exit code 1 when any set has a wrong CORRECT or a false INCORRECT.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib


REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader.written.grade import grade_file  # noqa: E402
from grader.written.verdict import PART_IDS, Verdict  # noqa: E402

SHEETS = REPO / "tests" / "written_sheets"
SHARED = REPO.parent / "shared" / "written_samples"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/written_samples")
FAILING = frozenset({Verdict.INCORRECT, Verdict.SIGN_ERROR, Verdict.TRANSPOSED, Verdict.ROW_CONVENTION,
                     Verdict.SHAPE_ERROR})
SUFFIXES = (".md", ".tex", ".txt")


@dataclass
class SheetScore:
    """Agreement of one sheet's verdicts with its labels."""

    name: str
    agree: int = 0
    total: int = 0
    wrong_correct: list[str] = field(default_factory=list)
    false_incorrect: list[str] = field(default_factory=list)
    misses: list[tuple[str, str, str, str]] = field(default_factory=list)  # part, expected, got, reason
    seconds: float = 0.0
    per_kind: dict[str, list[int]] = field(default_factory=dict)  # expected verdict → [agree, total]


def load_labels(path: Path) -> dict[str, Verdict]:
    """A labels TOML (``part = "VERDICT"``) → verdict for every part ID (unlisted: UNANSWERED)."""
    return complete_labels(tomllib.loads(path.read_text(encoding="utf-8")))


def complete_labels(table: dict) -> dict[str, Verdict]:
    """Labels for every part ID; raises ValueError on an unknown part or verdict name."""
    unknown = set(table) - set(PART_IDS)
    if unknown:
        raise ValueError(f"unknown part IDs in labels: {sorted(unknown)}")
    return {p: Verdict(table.get(p, "UNANSWERED")) for p in PART_IDS}


def score_sheet(path: Path, labels: dict[str, Verdict]) -> SheetScore:
    """Grade ``path`` and compare each part's verdict with ``labels``."""
    start = time.perf_counter()
    report = grade_file(path)
    score = SheetScore(path.name, seconds=time.perf_counter() - start)
    for part in report.parts:
        want, got = labels[part.part], part.verdict
        score.total += 1
        kind = score.per_kind.setdefault(want.value, [0, 0])
        kind[1] += 1
        if got == want:
            score.agree += 1
            kind[0] += 1
            continue
        score.misses.append((part.part, want.value, got.value, part.reason))
        if got == Verdict.CORRECT:
            score.wrong_correct.append(part.part)
        if got in FAILING and want in (Verdict.UNANSWERED, Verdict.CORRECT):
            score.false_incorrect.append(part.part)
    return score


def sheet_sets() -> dict[str, list[tuple[Path, dict[str, Verdict]]]]:
    """The sets to measure: own sheets (dev), held-out sheets, shared real samples."""
    sets: dict[str, list[tuple[Path, dict[str, Verdict]]]] = {}
    for name in ("dev", "heldout"):
        items = []
        for labels in sorted((SHEETS / name).glob("*.labels.toml")):
            stem = labels.name[: -len(".labels.toml")]
            sheet = next((labels.with_name(stem + s) for s in SUFFIXES if labels.with_name(stem + s).exists()), None)
            if sheet is None:
                raise FileNotFoundError(f"no answer sheet for {labels}")
            items.append((sheet, load_labels(labels)))
        sets[name] = items
    shared = tomllib.loads((SHEETS / "shared_labels.toml").read_text(encoding="utf-8"))
    sets["shared"] = [(SHARED / f"{stem}.md", complete_labels(table)) for stem, table in shared.items()
                      if (SHARED / f"{stem}.md").exists()]
    return sets


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the numbers here")
    ap.add_argument("--verbose", action="store_true", help="print every disagreement with its reason")
    args = ap.parse_args(argv)
    grade_file(next(p for p, _ in sheet_sets()["dev"]))  # warm the reference cache before timing
    bad = False
    out: dict[str, dict] = {}
    for set_name, items in sheet_sets().items():
        if not items:
            print(f"[{set_name}] no sheets (../shared absent?)")
            continue
        print(f"[{set_name}]")
        scores = [score_sheet(p, labels) for p, labels in items]
        kinds: dict[str, list[int]] = {}
        for s in scores:
            flags = "".join(
                [f"  wrong CORRECT: {s.wrong_correct}" if s.wrong_correct else "",
                 f"  false INCORRECT: {s.false_incorrect}" if s.false_incorrect else ""])
            print(f"  {s.name:34s} {s.agree:2d}/{s.total}  {s.seconds:5.2f} s{flags}")
            if args.verbose:
                for part, want, got, reason in s.misses:
                    print(f"      {part:8s} want {want:14s} got {got:14s} {reason[:150]}")
            for k, (a, t) in s.per_kind.items():
                kinds.setdefault(k, [0, 0])
                kinds[k][0] += a
                kinds[k][1] += t
        agree, total = sum(s.agree for s in scores), sum(s.total for s in scores)
        wc = sum(len(s.wrong_correct) for s in scores)
        fi = sum(len(s.false_incorrect) for s in scores)
        secs = sum(s.seconds for s in scores) / len(scores)
        print(f"  TOTAL {agree}/{total} = {100 * agree / total:.1f} %   wrong CORRECT {wc}   false INCORRECT {fi}   "
              f"{secs:.2f} s/sheet")
        print("  by expected verdict: " + ", ".join(f"{k} {a}/{t}" for k, (a, t) in sorted(kinds.items())))
        bad = bad or wc > 0 or fi > 0
        out[set_name] = {"agree": agree, "total": total, "wrong_correct": wc, "false_incorrect": fi,
                         "seconds_per_sheet": secs, "by_expected": kinds,
                         "sheets": {s.name: {"agree": s.agree, "total": s.total, "misses": s.misses}
                                    for s in scores}}
    if args.json:
        args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
