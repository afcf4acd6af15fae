"""The sample-submission corpus in ``submissions/``: loading expectations and materialising folders.

Each ``submissions/<name>/expected.toml`` describes what the grader must
say about that submission (see ``submissions/README.md``).  The entry
``from_reference = true`` means "the reference solution itself": its files
are copied in when the corpus is materialised, so the reference code is
stored once.
"""

from __future__ import annotations

import fnmatch
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from grader.results import GradeResult, Status

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_ROOT / "submissions"


@dataclass
class Expectation:
    """Parsed ``expected.toml``."""

    name: str
    folder: Path
    description: str = ""
    category: str = ""
    from_reference: bool = False
    outcomes: list[tuple[str, str]] = field(default_factory=list)  # (pattern, "pass"|"fail"|"error"|"any")
    events: list[str] = field(default_factory=list)
    no_events: list[str] = field(default_factory=list)  # event kinds that must NOT be reported
    notes_contain: list[str] = field(default_factory=list)
    summaries_contain: list[str] = field(default_factory=list)  # in some test summary or case message
    min_score: Optional[float] = None
    max_score: Optional[float] = None

    def expected_status(self, test_id: str) -> str:
        for pattern, status in self.outcomes:
            if fnmatch.fnmatchcase(test_id, pattern):
                return status
        return "pass"


def load_corpus(root: Path = CORPUS_DIR) -> list[Expectation]:
    """Every sample submission with its expectation, sorted by name."""
    out = []
    for path in sorted(root.glob("*/expected.toml")):
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        expect = data.get("expect", {})
        out.append(Expectation(
            name=path.parent.name, folder=path.parent, description=data.get("description", ""),
            category=data.get("category", ""), from_reference=bool(data.get("from_reference", False)),
            outcomes=list(data.get("outcomes", {}).items()), events=list(expect.get("events", [])),
            no_events=list(expect.get("no_events", [])),
            notes_contain=list(expect.get("notes_contain", [])),
            summaries_contain=list(expect.get("summaries_contain", [])), min_score=expect.get("min_score"),
            max_score=expect.get("max_score")))
    return out


def materialize(expectation: Expectation, dest: Path) -> Path:
    """Copy one sample into ``dest/<name>`` (filling in the reference files when asked); returns the folder."""
    target = dest / expectation.name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(expectation.folder, target, ignore=shutil.ignore_patterns("expected.toml", "__pycache__"))
    if expectation.from_reference:
        for name in ("word2vec.py", "sgd.py"):
            shutil.copyfile(REPO_ROOT / "reference" / name, target / name)
    return target


def mismatches(expectation: Expectation, result: GradeResult) -> list[str]:
    """Differences between a result and the expectation (empty when everything matches)."""
    problems = []
    for test in result.tests:
        want = expectation.expected_status(test.test_id)
        full = test.status == Status.PASSED and test.score >= test.max_score - 1e-9
        ok = {"pass": full, "fail": not full, "error": test.status == Status.ERROR, "any": True}[want]
        if not ok:
            problems.append(f"{test.test_id}: expected {want}, got {test.status.value} "
                            f"({test.score}/{test.max_score}) — {test.summary[:160]}")
    kinds = {e.kind for e in result.events} | {e.kind for t in result.tests for e in t.events}
    kinds |= {e.kind for e in result.submission.problems}
    for kind in expectation.events:
        if kind not in kinds:
            problems.append(f"expected a '{kind}' event; got {sorted(kinds)}")
    for kind in expectation.no_events:
        if kind in kinds:
            problems.append(f"unexpected '{kind}' event")
    text = " ".join(result.submission.notes + [n for t in result.tests for c in t.cases for n in c.notes]).lower()
    for needle in expectation.notes_contain:
        if needle.lower() not in text:
            problems.append(f"expected a note containing {needle!r}")
    said = " ".join([t.summary for t in result.tests] + [c.message for t in result.tests for c in t.cases]).lower()
    for needle in expectation.summaries_contain:
        if needle.lower() not in said:
            problems.append(f"expected a test summary or case message containing {needle!r}")
    if expectation.min_score is not None and result.score < expectation.min_score - 1e-9:
        problems.append(f"score {result.score} below min_score {expectation.min_score}")
    if expectation.max_score is not None and result.score > expectation.max_score + 1e-9:
        problems.append(f"score {result.score} above max_score {expectation.max_score}")
    if result.internal_error:
        problems.append(f"internal error: {result.internal_error.splitlines()[-1]}")
    return problems


def main(argv: list[str]) -> int:
    """``python -m grader.corpus DEST``: materialise the whole corpus (used by ``make demo``)."""
    dest = Path(argv[1] if len(argv) > 1 else "build/corpus")
    dest.mkdir(parents=True, exist_ok=True)
    for expectation in load_corpus():
        materialize(expectation, dest)
    print(f"materialised {len(load_corpus())} sample submissions into {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
