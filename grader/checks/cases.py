"""The test plan: deterministic input cases for every test id.

A :class:`Case` is written as a tiny Python *recipe* (statements that build
the inputs from a seeded generator), so the same text is (1) executed here,
in the trusted parent, to build the input arrays sent to the sandbox and (2)
shown to students as a runnable reproducer.  Recipes are grader-authored
constants, never student input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from grader.rubric import Rubric

OUTPUT_NAMES: dict[str, tuple[str, ...]] = {
    "sigmoid": ("s",),
    "naiveSoftmaxLossAndGradient": ("loss", "gradCenterVec", "gradOutsideVecs"),
    "negSamplingLossAndGradient": ("loss", "gradCenterVec", "gradOutsideVecs"),
    "skipgram": ("loss", "gradCenterVecs", "gradOutsideVectors"),
}
MODULE_OF = {"sigmoid": "word2vec", "naiveSoftmaxLossAndGradient": "word2vec",
             "negSamplingLossAndGradient": "word2vec", "skipgram": "word2vec", "sgd": "sgd"}

SCRIPTED_DATASET_SOURCE = '''class ScriptedDataset:
    """Hands out the given negative samples in order."""
    def __init__(self, sequence):
        self.sequence, self.position = list(sequence), 0
    def sampleTokenIdx(self):
        self.position += 1
        return self.sequence[(self.position - 1) % len(self.sequence)]'''

PSEUDO_LOSS_SOURCE = '''def pseudo_loss(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    """A simple loss with a known gradient (not word2vec's), used to test skipgram alone."""
    o, v, U = outsideWordIdx, centerWordVec, outsideVectors
    weight, ridge = 1 + o / 10, (o + 1) / 200
    loss = weight * U[o] @ v + 0.25 * v @ v + ridge * np.sum(U * U)
    grad_outside = 2 * ridge * U
    grad_outside[o] += weight * v
    return loss, weight * U[o] + 0.5 * v, grad_outside'''


@dataclass
class Case:
    """One call of a student function on grader-made inputs.

    ``recipe`` defines every name used in ``args``; ``arrays`` lists which of
    those names are numpy arrays to ship to the worker; the remaining args are
    JSON values or special objects (``dataset``, ``loss``).
    """

    case_id: str
    description: str
    function: str
    recipe: str
    args: list[str]
    arrays: list[str]
    op: str = "call"
    dataset: Optional[list[int]] = None  # scripted negative samples (None: no dataset needed)
    loss: Optional[str] = None  # worker function spec for skipgram's loss argument
    extra: dict[str, Any] = field(default_factory=dict)  # op-specific worker fields
    inject: dict[str, str] = field(default_factory=dict)
    kind: str = "value"  # "value" | "stability" — how a mismatch is explained

    def namespace(self) -> dict[str, Any]:
        """Execute the recipe (trusted grader text) and return its variables."""
        scope: dict[str, Any] = {"np": np}
        exec(self.recipe, scope)  # noqa: S102 - grader-authored recipe, never student input
        return scope

    def reproducer(self) -> str:
        """Runnable snippet for the student (visible tests only)."""
        module = MODULE_OF[self.function]
        lines = ["import numpy as np", f"from {module} import {self.function}"]
        if self.dataset is not None:
            lines += ["", SCRIPTED_DATASET_SOURCE, ""]
        if self.loss == "support:pseudo_loss":
            lines += ["", PSEUDO_LOSS_SOURCE, ""]
        lines.append(self.recipe.strip())
        call_args = list(self.args)
        if self.dataset is not None:
            lines.append(f"dataset = ScriptedDataset({self.dataset})")
        outputs = ", ".join(OUTPUT_NAMES.get(self.function, ("result",)))
        lines.append(f"{outputs} = {self.function}({', '.join(call_args)})")
        return "\n".join(lines)


def _neg_script(rng: np.random.Generator, V: int, o: int, K: int) -> list[int]:
    choices = [w for w in range(V) if w != o]
    return [int(x) for x in rng.choice(choices, size=K, replace=True)]


# --- sigmoid -------------------------------------------------------------------------------------

def sigmoid_cases(check: str) -> list[Case]:
    if check == "stability":
        recipes = [
            ("large_vector", "x = np.array([-1e3, -800.0, -710.0, -50.0, 0.0, 50.0, 710.0, 800.0, 1e3])"),
            ("extreme_vector", "x = np.array([-1e308, -1e300, 1e300, 1e308])"),
            ("large_matrix", "x = np.array([[1000.0, -1000.0], [745.5, -745.5]])"),
        ]
    else:
        recipes = [
            ("zero_scalar", "x = 0.0"),
            ("scalar", "x = 1.5"),
            ("vector", "x = np.random.default_rng(11).standard_normal(7) * 3"),
            ("matrix", "x = np.random.default_rng(12).standard_normal((4, 5)) * 5"),
            ("tensor3", "x = np.random.default_rng(13).standard_normal((2, 3, 4))"),
            ("starter_vector", "x = np.array([1.0, 2.0, 3.0])"),
        ]
    cases = []
    for name, recipe in recipes:
        is_array = "np." in recipe
        cases.append(Case(f"sigmoid.{check}.{name}", name.replace("_", " "), "sigmoid", recipe, ["x"],
                          ["x"] if is_array else [], kind=check))
    return cases


# --- naive softmax -------------------------------------------------------------------------------

DUMMY_VECTORS = ("rng = np.random.RandomState(9265)\n"
                 "dummy = rng.randn(10, 3)\n"
                 "dummy = dummy / np.sqrt((dummy ** 2).sum(axis=1, keepdims=True))")


def _loss_case(function: str, case_id: str, description: str, recipe: str, o: int,
               dataset: Optional[list[int]] = None, K: Optional[int] = None, kind: str = "value") -> Case:
    args = ["centerWordVec", str(o), "outsideVectors", "dataset" if dataset is not None else "None"]
    if K is not None:
        args.append(str(K))
    return Case(case_id, description, function, recipe, args, ["centerWordVec", "outsideVectors"],
                dataset=dataset, kind=kind,
                inject={"sigmoid": "support:stable_sigmoid", "getNegativeSamples": "support:get_negative_samples"}
                if function == "negSamplingLossAndGradient" else {})


def naive_cases(part: str) -> list[Case]:
    fn = "naiveSoftmaxLossAndGradient"
    cases = []
    if part == "starter":
        for i, o in enumerate((0, 1, 4, 9)):
            recipe = (f"{DUMMY_VECTORS}\noutsideVectors = dummy\n"
                      f"centerWordVec = np.random.RandomState({100 + i}).randn(3)")
            cases.append(_loss_case(fn, f"{fn}.starter.{i}", f"dummy 10×3 vectors, outside word {o}", recipe, o))
        recipe = f"{DUMMY_VECTORS}\noutsideVectors = dummy[5:, :]\ncenterWordVec = dummy[2]"
        cases.append(_loss_case(fn, f"{fn}.starter.slice", "starter's outside half (5×3), center 'c'", recipe, 3))
    elif part == "random":
        for i, (V, d) in enumerate(((5, 3), (17, 1), (100, 10), (3000, 100), (2, 100), (1000, 37))):
            o = (i * 7919) % V
            recipe = (f"rng = np.random.default_rng({200 + i})\ncenterWordVec = rng.standard_normal({d})\n"
                      f"outsideVectors = rng.standard_normal(({V}, {d}))")
            cases.append(_loss_case(fn, f"{fn}.random.{i}", f"V={V}, d={d}, outside word {o}", recipe, o))
        for i, (recipe, o, text) in enumerate(_training_states(), start=len(cases)):
            cases.append(_loss_case(fn, f"{fn}.random.{i}", text, recipe, o))
    elif part == "edge":
        for i, (V, d, o) in enumerate(((1, 1, 0), (1, 5, 0), (7, 1, 6), (50, 4, 0), (50, 4, 49))):
            recipe = (f"rng = np.random.default_rng({300 + i})\ncenterWordVec = rng.standard_normal({d})\n"
                      f"outsideVectors = rng.standard_normal(({V}, {d}))")
            cases.append(_loss_case(fn, f"{fn}.edge.{i}", f"V={V}, d={d}, outside word {o}", recipe, o))
    elif part == "stability":
        cases = _naive_stability_cases(fn)
    return cases


def _training_states() -> list[tuple[str, int, str]]:
    """(recipe, outside word, description) of states real training reaches, where scores tie.

    run.py starts with all-zero outside vectors, so at first every score is 0; rows that training
    has not separated yet are identical; a word's center vector can be 0.  Code that merges
    equal *scores* instead of equal indices, or divides by a norm, is wrong exactly here.
    """
    return [
        ("V = 8\nrng = np.random.default_rng(331)\ncenterWordVec = rng.standard_normal(4)\n"
         "outsideVectors = np.zeros((V, 4))", 3, "all-zero outside vectors (run.py's start: every score 0), V=8, d=4"),
        ("V = 6\nrng = np.random.default_rng(332)\ncenterWordVec = rng.standard_normal(3)\n"
         "outsideVectors = np.tile(rng.standard_normal(3), (V, 1))", 2, "identical outside rows (tied scores), V=6, d=3"),
        ("V = 4\nrng = np.random.default_rng(333)\ncenterWordVec = np.zeros(5)\n"
         "outsideVectors = rng.standard_normal((V, 5))", 0, "zero center vector, V=4, d=5"),
    ]


def _naive_stability_cases(fn: str) -> list[Case]:
    """Scores from tens to ~1000 with the target near the top: fine with a max-shifted softmax."""
    specs = [(6, 3, 40.0, 2), (8, 4, 300.0, 5), (12, 5, 1000.0, 7), (30, 10, 800.0, 29)]
    cases = []
    for i, (V, d, scale, o) in enumerate(specs):
        recipe = (f"rng = np.random.default_rng({400 + i})\n"
                  f"centerWordVec = np.full({d}, {scale / d ** 0.5:.6g}) * np.sign(rng.standard_normal({d}) + 3)\n"
                  f"outsideVectors = rng.uniform(-1, 1, ({V}, {d})) / {d ** 0.5:.6g}\n"
                  f"outsideVectors[{o}] = centerWordVec / np.linalg.norm(centerWordVec) * 0.99")
        cases.append(_loss_case(fn, f"{fn}.stability.{i}", f"V={V}, d={d}, scores up to about {scale:g}",
                                recipe, o, kind="stability"))
    return cases


# --- negative sampling ---------------------------------------------------------------------------

def neg_cases(part: str) -> list[Case]:
    fn = "negSamplingLossAndGradient"
    cases = []
    if part == "starter":
        for i, o in enumerate((0, 2, 4)):
            script = _neg_script(np.random.default_rng(500 + i), 5, o, 10)
            recipe = f"{DUMMY_VECTORS}\noutsideVectors = dummy\ncenterWordVec = np.random.RandomState({510 + i}).randn(3)"
            cases.append(_loss_case(fn, f"{fn}.starter.{i}", f"dummy 10×3 vectors, outside word {o}, K=10 "
                                    f"negatives drawn from 5 words (duplicates)", recipe, o, script, K=10))
    elif part == "random":
        for i, (V, d, K) in enumerate(((50, 10, 1), (200, 20, 20), (7, 5, 20), (1000, 50, 10), (3000, 100, 20),
                                       (2, 3, 1))):
            o = (i * 31) % V
            script = _neg_script(np.random.default_rng(600 + i), V, o, K)
            recipe = (f"rng = np.random.default_rng({610 + i})\ncenterWordVec = rng.standard_normal({d})\n"
                      f"outsideVectors = rng.standard_normal(({V}, {d}))")
            cases.append(_loss_case(fn, f"{fn}.random.{i}", f"V={V}, d={d}, K={K}", recipe, o, script, K=K))
        for i, (recipe, o, text) in enumerate(_training_states(), start=len(cases)):
            V = int(recipe.split("V = ")[1].split("\n")[0])
            K = 12 if V <= 4 else 10  # K >= V: every word drawn, most more than once
            script = _neg_script(np.random.default_rng(650 + i), V, o, K)
            cases.append(_loss_case(fn, f"{fn}.random.{i}", f"{text}, K={K}", recipe, o, script, K=K))
    elif part == "repeats":
        scripts = [([3, 3, 5, 5, 1, 1, 6, 6, 2, 2], 0, "every negative twice"),
                   ([4] * 10, 1, "all 10 negatives the same word"),
                   ([2, 7, 2, 2, 9, 7, 2, 3, 2, 2], 5, "one word drawn 6 times")]
        for i, (script, o, text) in enumerate(scripts):
            recipe = (f"rng = np.random.default_rng({700 + i})\ncenterWordVec = rng.standard_normal(6)\n"
                      f"outsideVectors = rng.standard_normal((12, 6))")
            cases.append(_loss_case(fn, f"{fn}.repeats.{i}", f"K=10, {text}", recipe, o, script, K=10))
    elif part == "stability":
        cases = _neg_stability_cases(fn)
    return cases


def _neg_stability_cases(fn: str) -> list[Case]:
    """Dot products of tens to hundreds; |z| < 700 so −log σ(·) written plainly stays finite."""
    specs = [(40.0, 60.0), (300.0, -200.0), (600.0, 650.0)]
    cases = []
    for i, (neg_score, pos_score) in enumerate(specs):
        script = [1, 2, 3, 4]  # distinct: duplicates are graded by the repeats test only
        recipe = (f"centerWordVec = np.array([1.0, 0.0, 0.0])\n"
                  f"outsideVectors = np.zeros((6, 3))\n"
                  f"outsideVectors[0] = [{pos_score}, 1.0, 0.0]\n"
                  f"outsideVectors[1:5] = [[{neg_score}, 0.0, 1.0], [{neg_score * 0.9:g}, 1.0, 1.0], "
                  f"[{-neg_score:g}, 0.5, 0.0], [{neg_score * 0.5:g}, 0.0, 2.0]]")
        cases.append(_loss_case(fn, f"{fn}.stability.{i}", f"u·v of ±{neg_score:g} and {pos_score:g}",
                                recipe, 0, script, K=4, kind="stability"))
    return cases


# --- skip-gram -----------------------------------------------------------------------------------

def _skipgram_case(case_id: str, description: str, recipe: str, center: str, window: int,
                   outside: list[str], word2ind: dict[str, int], loss: str = "support:pseudo_loss",
                   dataset: Optional[list[int]] = None) -> Case:
    args = [repr(center), str(window), repr(outside), "word2Ind", "centerWordVectors", "outsideVectors",
            "dataset" if dataset is not None else "None", "pseudo_loss" if loss == "support:pseudo_loss" else loss]
    recipe = f"word2Ind = {word2ind!r}\n" + recipe
    return Case(case_id, description, "skipgram", recipe, args, ["centerWordVectors", "outsideVectors"],
                dataset=dataset, loss=loss, extra={"word2ind": word2ind})


def skipgram_cases(part: str) -> list[Case]:
    tokens = {t: i for i, t in enumerate("abcde")}
    cases = []
    if part == "starter":
        for i, (center, window, outside) in enumerate((("c", 3, ["a", "b", "e", "d", "b", "c"]),
                                                       ("b", 3, ["a", "b", "e", "d", "b", "c"]),
                                                       ("c", 1, ["a", "b"]))):
            recipe = f"{DUMMY_VECTORS}\ncenterWordVectors = dummy[:5, :]\noutsideVectors = dummy[5:, :]"
            cases.append(_skipgram_case(f"skipgram.starter.{i}", f"dummy setup, center {center!r}, outside {outside}",
                                        recipe, center, window, outside, tokens))
    elif part in ("random", "repeats"):
        specs = ((8, 3, 2, 0), (50, 10, 5, 1), (300, 20, 4, 2)) if part == "random" else ((6, 3, 2, 3), (9, 4, 3, 4))
        for i, (V, d, window, seed) in enumerate(specs):
            rng = np.random.default_rng(800 + seed)
            words = {f"w{j}": j for j in range(V)}
            center = f"w{int(rng.integers(V))}"
            if part == "random":
                outside = [f"w{int(j)}" for j in rng.integers(0, V, 2 * window)]
            else:
                outside = [center, f"w{int(rng.integers(V))}", center]
                outside += [outside[1]] * (2 * window - 3)
            recipe = (f"rng = np.random.default_rng({810 + seed})\ncenterWordVectors = rng.standard_normal(({V}, {d}))\n"
                      f"outsideVectors = rng.standard_normal(({V}, {d}))")
            cases.append(_skipgram_case(f"skipgram.{part}.{i}", f"V={V}, d={d}, center {center}, "
                                        f"{len(outside)} outside words", recipe, center, window, outside, words))
        if part == "repeats":  # run.py's start: every outside vector 0; the center word is also an outside word
            words = {f"w{j}": j for j in range(7)}
            recipe = ("rng = np.random.default_rng(830)\ncenterWordVectors = rng.standard_normal((7, 4))\n"
                      "outsideVectors = np.zeros((7, 4))")
            cases.append(_skipgram_case(f"skipgram.{part}.{len(cases)}", "all-zero outside vectors, V=7, d=4, "
                                        "center w2 also an outside word", recipe, "w2", 2, ["w2", "w5", "w2", "w0"],
                                        words))
    return cases


def skipgram_integration_cases() -> list[Case]:
    """The student's skipgram with the student's own losses (informational)."""
    tokens = {t: i for i, t in enumerate("abcde")}
    cases = []
    recipe = f"{DUMMY_VECTORS}\ncenterWordVectors = dummy[:5, :]\noutsideVectors = dummy[5:, :]"
    for i, loss in enumerate(("naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient")):
        script = [1, 3, 4, 0, 2, 3, 1, 1, 4, 0, 2, 2, 3] if i else None
        case = _skipgram_case(f"skipgram.integration.{i}", f"dummy setup with your {loss}", recipe, "c", 3,
                              ["a", "b", "e", "d", "b", "c"], tokens, loss=f"word2vec:{loss}",
                              dataset=script or [0])
        case.args[-1] = loss
        cases.append(case)
    return cases


# --- building worker calls -----------------------------------------------------------------------

def to_worker_call(case: Case, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Turn a case into a worker call; array inputs are added to ``arrays`` under ``<case_id>:<name>``."""
    scope = case.namespace()
    specs: list[Any] = []
    kwargs: dict[str, Any] = {}
    for arg in case.args:
        target = specs
        key = None
        if "=" in arg:
            key, arg = arg.split("=", 1)
        if arg in case.arrays:
            name = f"{case.case_id}:{arg}"
            arrays[name] = np.array(scope[arg], copy=True)
            spec: Any = {"array": name}
        elif arg == "dataset":
            spec = {"scripted_dataset": case.dataset}
        elif arg == "pseudo_loss" or arg == case.args[-1] and case.loss:
            spec = {"fn": case.loss}
        elif arg == "word2Ind":
            spec = {"value": case.extra["word2ind"]}
        elif arg in scope and not isinstance(scope[arg], np.ndarray):
            spec = {"value": scope[arg]}
        else:
            spec = {"value": eval(arg, {"np": np})}  # noqa: S307 - grader-authored literal
        if key:
            kwargs[key] = spec
        else:
            target.append(spec)
    call = {"id": case.case_id, "op": case.op, "module": MODULE_OF[case.function], "function": case.function,
            "args": specs, "kwargs": kwargs, "inject": dict(case.inject)}
    call.update(case.extra.get("call", {}))
    return call


CASE_BUILDERS = {
    "sigmoid.correctness": lambda: sigmoid_cases("correctness"),
    "sigmoid.stability": lambda: sigmoid_cases("stability"),
    "naiveSoftmaxLossAndGradient.correctness.starter": lambda: naive_cases("starter"),
    "naiveSoftmaxLossAndGradient.correctness.random": lambda: naive_cases("random"),
    "naiveSoftmaxLossAndGradient.correctness.edge": lambda: naive_cases("edge"),
    "naiveSoftmaxLossAndGradient.stability": lambda: naive_cases("stability"),
    "negSamplingLossAndGradient.correctness.starter": lambda: neg_cases("starter"),
    "negSamplingLossAndGradient.correctness.random": lambda: neg_cases("random"),
    "negSamplingLossAndGradient.correctness.repeats": lambda: neg_cases("repeats"),
    "negSamplingLossAndGradient.stability": lambda: neg_cases("stability"),
    "skipgram.correctness.starter": lambda: skipgram_cases("starter"),
    "skipgram.correctness.random": lambda: skipgram_cases("random"),
    "skipgram.correctness.repeats": lambda: skipgram_cases("repeats"),
    "skipgram.integration": skipgram_integration_cases,
}
"""Value-comparison tests: test id → its cases."""


def value_cases(rubric: Rubric) -> dict[str, list[Case]]:
    """Cases of every value-comparison test in the rubric."""
    return {t.id: CASE_BUILDERS[t.id]() for t in rubric.tests if t.id in CASE_BUILDERS}
