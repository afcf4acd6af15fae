#!/usr/bin/env python
"""How well the likely-cause diagnosis (grader/diagnose) names the bundled samples' mistakes, and what it costs.

Grades every sample of ``submissions/`` in the real sandbox and prints, per sample and function, the expected
cause (the sample's ``[diagnosis]`` table, or :data:`EXISTING` for samples written before it) against the
diagnosed one, then the totals:

* right: the expected known mistake is named (a full match);
* wrong: another mistake is named, or a cause is named where none may be (expected "none");
* none: the expected mistake is not named (no match, or only a partial one);
* false matches on correct samples (must be 0) and causes named on functions a sample does not list;
* catalogue coverage: entries no sample exercises;
* cost: the diagnosis stage's share of each grade (warm cache, and once cold with the cache bypassed).

Usage: ``python benchmarks/diagnosis_accuracy.py [sample ...]`` (default: all).  Not a test: nothing is asserted.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import grader.diagnose as diagnose_stage  # noqa: E402
from grader.corpus import load_corpus, materialize  # noqa: E402
from grader.diagnose.catalogue import CATALOGUE  # noqa: E402
from grader.pipeline import grade_submission  # noqa: E402
from grader.results import FUNCTIONS, GradeResult  # noqa: E402

EXISTING: dict[str, dict[str, str]] = {
    "bug_dup_overwrite": {"negSamplingLossAndGradient": "neg.repeats_overwritten"},
    "bug_no_max_shift": {"naiveSoftmaxLossAndGradient": "naive.no_max_shift"},
    "bug_sigmoid_exp_ratio": {"sigmoid": "sigmoid.exp_ratio"},
    "bug_log_one_minus_sigmoid": {"negSamplingLossAndGradient": "neg.log_one_minus_sigmoid"},
    "bug_sign_error": {"naiveSoftmaxLossAndGradient": "naive.grad_center_sign"},
    "bug_transposed_grad": {"naiveSoftmaxLossAndGradient": "naive.transposed"},
    "bug_skipgram_assign": {"skipgram": "skipgram.grads_assigned"},
    "bug_skipgram_center_row": {"skipgram": "skipgram.center_grad_wrong_row"},
    "bug_negsamp_center_sign": {"negSamplingLossAndGradient": "neg.center_sign_negatives"},
    "bug_input_mutated": {"naiveSoftmaxLossAndGradient": "naive.modifies_outside"},
    "bug_sgd_ascent": {"sgd": "sgd.ascent"},
    "bug_loss_never_assigned": {"sgd": "sgd.loss_not_assigned"},
    "bug_sgd_double_anneal": {"sgd": "sgd.double_anneal"},
    "bug_sigmoid_math_exp": {"sigmoid": "sigmoid.math_exp"},
    "bug_neg_group_by_score": {"negSamplingLossAndGradient": "neg.grouped_by_score"},
}
"""Expected causes of the samples written before ``[diagnosis]`` tables existed."""


def expected_causes(folder: Path, name: str) -> dict[str, str]:
    """function -> expected cause id ("none": no cause may be named) for one sample."""
    data = tomllib.loads((folder / "expected.toml").read_text(encoding="utf-8"))
    return dict(data.get("diagnosis") or EXISTING.get(name, {}))


def diagnosed(result: GradeResult) -> dict[str, str]:
    """function -> what the grade names: the full match's id, "partial: ids", or absent."""
    out: dict[str, str] = {}
    for test in result.tests:
        d = test.diagnosis
        if d is None or d.function in out:
            continue
        if d.status == "match":
            out[d.function] = d.cause_id
        elif d.status == "partial":
            out[d.function] = "partial: " + ", ".join(f"{c.cause_id} ({'/'.join(c.outputs)})" for c in d.causes)
        else:
            out[d.function] = "none"
    return out


class StageTimer:
    """Wraps the diagnosis entry point to add up the time it takes (optionally bypassing its cache)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.use_cache = True
        self._original = diagnose_stage.diagnose

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._original(*args, use_cache=self.use_cache, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def main(argv: list[str]) -> int:
    corpus = [e for e in load_corpus() if not argv or e.name in argv]
    timer = StageTimer()
    diagnose_stage.diagnose = timer  # the pipeline calls grader.diagnose.diagnose
    totals = {"right": 0, "wrong": 0, "none": 0}
    false_on_correct: list[str] = []
    extra: list[str] = []
    exercised: set[str] = set()
    costs: list[tuple[str, float, float]] = []
    print(f"{'sample':<34} {'function':<28} {'expected':<44} diagnosed")
    with tempfile.TemporaryDirectory() as tmp:
        for entry in corpus:
            path = materialize(entry, Path(tmp))
            expected = expected_causes(entry.folder, entry.name)
            before = timer.seconds
            started = time.perf_counter()
            result = grade_submission(path)
            costs.append((entry.name, time.perf_counter() - started, timer.seconds - before))
            got = diagnosed(result)
            for function in FUNCTIONS:
                want, have = expected.get(function), got.get(function)
                if want is None and have is None:
                    continue
                if want is None:
                    if entry.category == "correct":
                        false_on_correct.append(f"{entry.name}: {function}: {have}")
                    elif have != "none":
                        extra.append(f"{entry.name} ({entry.category}): {function}: {have}")
                    print(f"{entry.name:<34} {function:<28} {'(not listed)':<44} {have}")
                    continue
                exercised.update(want.split("+"))
                if want == "none":
                    verdict = "right" if have in (None, "none") else ("none" if have.startswith("partial") else "wrong")
                else:
                    verdict = "right" if have == want else ("wrong" if have and not have.startswith("partial")
                                                            and have != "none" else "none")
                totals[verdict] += 1
                print(f"{entry.name:<34} {function:<28} {want:<44} {have or '(no diagnosis)'}  [{verdict}]")
    print()
    print(f"totals: right {totals['right']}, wrong {totals['wrong']}, none {totals['none']} "
          f"(of {sum(totals.values())} expected causes over {len(corpus)} samples)")
    print(f"false matches on correct samples: {len(false_on_correct)}")
    for line in false_on_correct:
        print("  " + line)
    print(f"causes named on functions a bug sample does not list: {len(extra)}")
    for line in extra:
        print("  " + line)
    missing = [m.id for m in CATALOGUE if m.id not in exercised]
    print(f"catalogue: {len(CATALOGUE)} entries, {len(CATALOGUE) - len(missing)} exercised by a sample"
          + (f"; not exercised: {', '.join(missing)}" if missing else ""))
    print()
    print("cost of the diagnosis stage (the sgd mutants' cache as found: run twice for warm figures):")
    for name, total, stage in costs:
        if stage > 0.0005 or name in ("reference", "bug_mix_signs"):
            print(f"  {name:<34} grade {total:6.2f} s, diagnosis {stage:6.3f} s ({100 * stage / max(total, 1e-9):4.1f} %)")
    grand = sum(c[1] for c in costs)
    print(f"  all samples: grades {grand:.1f} s, diagnosis {sum(c[2] for c in costs):.2f} s")
    cold = next((e for e in corpus if e.name == "bug_mix_signs"), None)
    if cold is not None:
        timer.use_cache = False
        with tempfile.TemporaryDirectory() as tmp:
            path = materialize(cold, Path(tmp))
            before = timer.seconds
            started = time.perf_counter()
            grade_submission(path)
            total = time.perf_counter() - started
        stage = timer.seconds - before
        print(f"  cold (cache bypassed) {cold.name}: grade {total:.2f} s, diagnosis {stage:.3f} s "
              f"({100 * stage / total:.1f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
