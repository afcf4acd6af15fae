"""NumPy versions: the rubric names the NumPy a course grades with; known incompatibilities are named.

The numpy-1-era sample (``submissions/bug_numpy1_float_of_array``) is graded by tests/test_corpus.py,
which asserts that its failures name the incompatibility.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from grader import pipeline
from grader.batch import BatchError, BatchOptions, run_batch
from grader.checks.numpy_compat import environment_mismatch, explain
from grader.gradescope.build_autograder import build_autograder
from grader.packaging import BuildError
from grader.results import Status
from grader.rubric import RubricError, load_rubric, parse_rubric

REPO = Path(__file__).resolve().parents[1]
EXCLUDES_THIS_NUMPY = "<1" if not np.__version__.startswith("0.") else ">=1"


def _rubric_with_numpy(tmp_path: Path, spec: str) -> Path:
    text = (REPO / "grader" / "rubric_default.toml").read_text(encoding="utf-8")
    path = tmp_path / "rubric.toml"
    path.write_text(text.replace('numpy = ""', f'numpy = "{spec}"', 1), encoding="utf-8")
    assert load_rubric(path).environment.numpy == spec
    return path


@pytest.mark.parametrize("bad", ["1.26", "numpy==1.26", ">=2,,<3", 2])
def test_a_malformed_numpy_specifier_is_a_rubric_error(bad) -> None:
    import tomllib

    data = tomllib.loads((REPO / "grader" / "rubric_default.toml").read_text(encoding="utf-8"))
    data["environment"] = {"numpy": bad}
    with pytest.raises(RubricError, match="version specifier"):
        parse_rubric(data)


def test_this_environment_satisfies_the_default_and_its_own_version() -> None:
    assert environment_mismatch("") is None
    assert environment_mismatch(f"=={np.__version__}") is None
    problem = environment_mismatch(EXCLUDES_THIS_NUMPY)
    assert problem is not None and np.__version__ in problem and "pip install" in problem


def test_grading_refuses_an_environment_the_rubric_excludes_and_the_kit_only_warns(tmp_path: Path,
                                                                                  corpus_dir: Path) -> None:
    rubric = load_rubric(_rubric_with_numpy(tmp_path, EXCLUDES_THIS_NUMPY))
    graded = pipeline.grade_submission(corpus_dir / "correct_einsum", rubric)
    assert graded.internal_error and graded.internal_error.startswith("grader environment: the rubric grades")
    assert all(t.status == Status.ERROR for t in graded.tests) and graded.score == 0
    checked = pipeline.grade_submission(corpus_dir / "correct_einsum", rubric, mode="check")
    assert not checked.internal_error and checked.score > 0
    assert any("This course grades with numpy" in note for note in checked.submission.notes)


def test_batch_and_the_gradescope_build_refuse_it_too(tmp_path: Path, corpus_dir: Path) -> None:
    path = _rubric_with_numpy(tmp_path, EXCLUDES_THIS_NUMPY)
    options = BatchOptions(out_dir=tmp_path / "out", rubric_path=path, quiet=True, allow_weak_isolation=True)
    with pytest.raises(BatchError, match="environment: the rubric grades with numpy"):
        run_batch(corpus_dir / "correct_einsum", options)
    with pytest.raises(BuildError, match="the image pins numpy"):
        build_autograder(tmp_path / "autograder.zip", rubric_path=path)
    ok = build_autograder(tmp_path / "ok.zip", rubric_path=_rubric_with_numpy(tmp_path, f"=={np.__version__}"))
    assert ok["entries"] > 0


def _raised(expression: str) -> tuple[str, str]:
    try:
        eval(expression, {"np": np})  # noqa: S307 - test literals
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__, str(exc)
    pytest.fail(f"{expression} did not raise under NumPy {np.__version__}")


@pytest.mark.parametrize("expression, fix", [("np.float", "float"), ("np.float_", "np.float64"),
                                              ("np.NaN", "np.nan"), ("np.product([1, 2])", "np.prod")])
def test_removed_aliases_are_named_with_their_replacement(expression: str, fix: str) -> None:
    sentence = explain(*_raised(expression))
    assert sentence is not None and "NumPy version incompatibility" in sentence and f"Write {fix}" in sentence


@pytest.mark.skipif(int(np.__version__.split(".")[0]) < 2, reason="float() of a shape-(1,) array is an error in 2.x")
def test_float_of_a_one_element_array_is_named() -> None:
    sentence = explain(*_raised("float(np.array([1.0]))"))
    assert sentence is not None and "x.item()" in sentence


def test_other_exceptions_are_left_alone() -> None:
    assert explain("AttributeError", "module 'numpy' has no attribute 'sigmoid'") is None
    assert explain("TypeError", "unsupported operand type(s) for +: 'int' and 'str'") is None
    assert explain(None, None) is None


def test_every_result_states_the_numpy_that_ran_it(corpus_dir: Path) -> None:
    result = pipeline.grade_submission(corpus_dir / "bug_sign_error", dataclasses.replace(load_rubric()), mode="check")
    assert result.numpy_version == np.__version__
