"""The reference solution behaves like a correct student solution in the starter kit.

reference/word2vec.py, sgd.py and utils/ are copied to an empty folder and run
as scripts (as a student would); the numerics are also tested directly.
"""

from __future__ import annotations

import math
import pickle
import random
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
sys.path.insert(0, str(REFERENCE.parent))
from reference import load_reference

PASS_LINE = (
    "Gradient check passed!. Read the docstring of the `gradcheck_naive`"
    " method in utils.gradcheck.py to understand what the gradient check does."
)
ALL_PASSED = "All 3 tests passed!"


@pytest.fixture(autouse=True)
def _keep_rng_state():
    """Restore Python's and numpy's global RNG state after each test."""
    py_state, np_state = random.getstate(), np.random.get_state()
    yield
    random.setstate(py_state)
    np.random.set_state(np_state)


@pytest.fixture(scope="module")
def starter_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty folder holding copies of word2vec.py, sgd.py and utils/."""
    folder = tmp_path_factory.mktemp("starter")
    for name in ("word2vec.py", "sgd.py"):
        shutil.copy(REFERENCE / name, folder / name)
    shutil.copytree(REFERENCE / "utils", folder / "utils",
                    ignore=shutil.ignore_patterns("__pycache__", "datasets"))
    return folder


def run_script(folder: Path, *args: str) -> list[str]:
    """Run ``python <args>`` in folder; assert success and return the stdout lines."""
    proc = subprocess.run([sys.executable, *args], cwd=folder, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@pytest.fixture(scope="module")
def w2v():
    """The reference word2vec module."""
    return load_reference().word2vec


@pytest.fixture(scope="module")
def sgd_module():
    """The reference sgd module."""
    return load_reference().sgd


# ---------------------------------------------------------------- scripts

def test_cli_all(starter_dir: Path) -> None:
    for args in (["word2vec.py"], ["word2vec.py", "all"]):
        lines = run_script(starter_dir, *args)
        assert lines[:2] == ["=== Sanity check for sigmoid ===", "Tests for sigmoid passed!"]
        assert lines.count(PASS_LINE) == 6
        assert lines.count(ALL_PASSED) == 2
        assert lines.count("The third test passed!") == 2
        assert not any("failed" in line for line in lines)


@pytest.mark.parametrize(("choice", "n_pass", "n_all", "header"), [
    ("sigmoid", 0, 0, "=== Sanity check for sigmoid ==="),
    ("naiveSoftmaxLossAndGradient", 2, 0, "==== Gradient check for naiveSoftmaxLossAndGradient ===="),
    ("negSamplingLossAndGradient", 2, 0, "==== Gradient check for negSamplingLossAndGradient ===="),
    ("skipgram", 2, 2, "==== Gradient check for skip-gram with naiveSoftmaxLossAndGradient ===="),
])
def test_cli_choice(starter_dir: Path, choice: str, n_pass: int, n_all: int, header: str) -> None:
    lines = run_script(starter_dir, "word2vec.py", choice)
    assert lines[0] == header
    assert lines.count(PASS_LINE) == n_pass
    assert lines.count(ALL_PASSED) == n_all
    assert ("Tests for sigmoid passed!" in lines) == (choice == "sigmoid")
    if choice == "skipgram":
        assert "======Skip-Gram with naiveSoftmaxLossAndGradient Test Cases======" in lines
        assert "======Skip-Gram with negSamplingLossAndGradient======" in lines


def test_cli_unknown_choice_does_nothing(starter_dir: Path) -> None:
    assert run_script(starter_dir, "word2vec.py", "nonsense") == []


def test_sgd_sanity_check(starter_dir: Path) -> None:
    lines = run_script(starter_dir, "sgd.py")
    assert lines[0] == "Running sanity checks..."
    assert lines[1] == "iter 100: 0.004578"
    assert lines[10] == "iter 1000: 0.002888"
    assert lines[11] == "test 1 result: 8.414836786079764e-10"
    assert lines[12:22] == [f"iter {i}: 0.000000" for i in range(100, 1001, 100)]
    assert lines[22] == "test 2 result: 0.0"
    assert lines[23] == "iter 100: 0.041205"
    assert lines[32] == "iter 1000: 0.025994"
    assert lines[33] == "test 3 result: -2.524451035823933e-09"
    assert lines[34:] == ["-" * 40, "ALL TESTS PASSED", "-" * 40]


# ---------------------------------------------------------------- helpers

class ScriptedDataset:
    """Dataset whose sampleTokenIdx() returns a fixed sequence of ids."""

    def __init__(self, samples: list[int]) -> None:
        self.samples = list(samples)
        self.calls = 0

    def sampleTokenIdx(self) -> int:
        self.calls += 1
        return self.samples.pop(0)


def softplus(x: float) -> float:
    """log(1 + exp(x)) without overflow, in plain Python floats."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def loop_negsamp(v: np.ndarray, o: int, U: np.ndarray, negatives: list[int]):
    """Unvectorised negative-sampling loss/gradients (one term per sample)."""
    loss_terms, grad_v, grad_u = [], np.zeros_like(v), np.zeros_like(U)
    for idx, sign in [(o, 1.0)] + [(k, -1.0) for k in negatives]:
        z = sign * float(U[idx] @ v)
        loss_terms.append(softplus(-z))                  # -log sigmoid(z)
        coef = -sign * math.exp(-softplus(z))             # -sign * sigmoid(-z)
        grad_v += coef * U[idx]
        grad_u[idx] += coef * v
    return math.fsum(loss_terms), grad_v, grad_u


def large_inputs(seed: int, V: int = 7, D: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Center vector and outside matrix with entries of magnitude 50..1000."""
    rng = np.random.default_rng(seed)

    def mags(*shape: int) -> np.ndarray:
        return rng.uniform(50, 1000, shape) * rng.choice([-1.0, 1.0], shape)

    return mags(D), mags(V, D)


# ---------------------------------------------------------------- numerics

def test_dummy_vectors(w2v) -> None:
    _, vectors, tokens = w2v.getDummyObjects()
    assert vectors.shape == (10, 3)
    assert tokens == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}
    assert np.allclose(vectors[0], [-0.96735714, -0.02182641, 0.25247529], rtol=0, atol=1e-8)
    assert np.allclose(vectors[9], [-0.52629529, -0.78190408, 0.33412466], rtol=0, atol=1e-8)


def test_sigmoid_values_and_types(w2v) -> None:
    assert w2v.sigmoid(0) == 0.5
    assert isinstance(w2v.sigmoid(0.0), float)
    assert w2v.sigmoid(np.float32(2)) == pytest.approx(1 / (1 + math.exp(-2)), rel=1e-15)
    x = np.linspace(-30, 30, 24).reshape(2, 3, 4)
    s = w2v.sigmoid(x)
    assert s.shape == (2, 3, 4) and s.dtype == np.float64
    expected = [1 / (1 + math.exp(-t)) for t in x.ravel()]
    assert np.allclose(s.ravel(), expected, rtol=1e-14, atol=0)
    assert np.allclose(w2v.sigmoid(np.array([1, 2, 3])), [0.73105858, 0.88079708, 0.95257413])


def test_sigmoid_stable_without_warnings(w2v) -> None:
    with np.errstate(all="raise"):
        assert w2v.sigmoid(1e3) == 1.0
        assert w2v.sigmoid(-1e3) == 0.0
        assert w2v.sigmoid(1e308) == 1.0
        assert w2v.sigmoid(-1e308) == 0.0
        out = w2v.sigmoid(np.array([-1e308, -1e3, -700.0, 0.0, 700.0, 1e3, 1e308]))
    assert np.all(np.isfinite(out))
    assert out[2] == pytest.approx(math.exp(-700), rel=1e-12)
    assert list(out[[0, 1, 3, 5, 6]]) == [0.0, 0.0, 0.5, 1.0, 1.0]


@pytest.mark.parametrize("seed", range(5))
def test_naive_softmax_large_magnitudes(w2v, seed: int) -> None:
    v, U = large_inputs(seed)
    o = seed % U.shape[0]
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, grad_v, grad_u = w2v.naiveSoftmaxLossAndGradient(v, o, U, None)
    scores = [float(s) for s in U @ v]
    top = max(scores)
    log_z = top + math.log(math.fsum(math.exp(s - top) for s in scores))
    assert math.isfinite(loss)
    assert loss == pytest.approx(log_z - scores[o], rel=1e-12, abs=1e-9)
    probs = np.array([math.exp(s - log_z) for s in scores])
    probs[o] -= 1.0
    assert np.allclose(grad_v, U.T @ probs, rtol=1e-12, atol=1e-9)
    assert np.allclose(grad_u, np.outer(probs, v), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_negsamp_large_magnitudes(w2v, seed: int) -> None:
    v, U = large_inputs(seed)
    negatives = [(seed + k) % 6 + 1 for k in range(10)]
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, grad_v, grad_u = w2v.negSamplingLossAndGradient(v, 0, U, ScriptedDataset(negatives))
    exp_loss, exp_v, exp_u = loop_negsamp(v, 0, U, negatives)
    assert math.isfinite(loss)
    assert loss == pytest.approx(exp_loss, rel=1e-12, abs=1e-9)
    assert np.allclose(grad_v, exp_v, rtol=1e-12, atol=1e-9)
    assert np.allclose(grad_u, exp_u, rtol=1e-12, atol=1e-9)


def test_negsamp_duplicates_accumulate(w2v) -> None:
    rng = np.random.default_rng(7)
    v, U = rng.normal(size=3), rng.normal(size=(6, 3))
    # 2 is the outside word: those draws are redrawn, so 12 draws give K=10 negatives
    draws = [3, 3, 2, 5, 3, 2, 1, 1, 4, 3, 5, 5]
    negatives = [d for d in draws if d != 2]
    dataset = ScriptedDataset(draws)
    loss, grad_v, grad_u = w2v.negSamplingLossAndGradient(v, 2, U, dataset)
    assert dataset.calls == 12
    exp_loss, exp_v, exp_u = loop_negsamp(v, 2, U, negatives)
    assert loss == pytest.approx(exp_loss, rel=1e-13)
    assert np.allclose(grad_v, exp_v, rtol=1e-13, atol=1e-15)
    assert np.allclose(grad_u, exp_u, rtol=1e-13, atol=1e-15)
    assert not np.allclose(grad_u[3], loop_negsamp(v, 2, U, [3])[2][3])  # 4 copies count 4 times


def test_get_negative_samples_redraws(w2v) -> None:
    dataset = ScriptedDataset([1, 0, 0, 2, 1])
    assert w2v.getNegativeSamples(0, dataset, 3) == [1, 2, 1]
    assert dataset.calls == 5


def test_shapes_dtypes_and_no_mutation(w2v) -> None:
    dataset, vectors, tokens = w2v.getDummyObjects()
    vectors32 = vectors.astype(np.float32)
    for loss_fn in (w2v.naiveSoftmaxLossAndGradient, w2v.negSamplingLossAndGradient):
        center, outside = vectors32[0].copy(), vectors32[5:].copy()
        loss, grad_v, grad_u = loss_fn(center, 1, outside, dataset)
        assert np.ndim(loss) == 0 and isinstance(float(loss), float)
        assert grad_v.shape == (3,) and grad_v.dtype == np.float64
        assert grad_u.shape == (5, 3) and grad_u.dtype == np.float64
        assert np.array_equal(center, vectors32[0]) and np.array_equal(outside, vectors32[5:])

        before = vectors.copy()
        loss, grad_c, grad_o = w2v.skipgram("c", 2, ["a", "b", "c", "a"], tokens,
                                            vectors[:5], vectors[5:], dataset, loss_fn)
        assert grad_c.shape == grad_o.shape == (5, 3)
        assert grad_c.dtype == grad_o.dtype == np.float64
        assert np.count_nonzero(np.abs(grad_c).sum(axis=1)) == 1
        loss, grad = w2v.word2vec_sgd_wrapper(w2v.skipgram, tokens, vectors, dataset, 3, loss_fn)
        assert grad.shape == (10, 3)
        assert np.array_equal(vectors, before)


def test_wrapper_matches_manual_average(w2v) -> None:
    dataset, vectors, tokens = w2v.getDummyObjects()
    state = random.getstate()
    loss, grad = w2v.word2vec_sgd_wrapper(w2v.skipgram, tokens, vectors, dataset, 5)
    after = random.getstate()
    random.setstate(state)
    total, total_grad = 0.0, np.zeros_like(vectors)
    for _ in range(50):
        window = random.randint(1, 5)
        center, context = dataset.getRandomContext(window)
        c, gin, gout = w2v.skipgram(center, window, context, tokens, vectors[:5], vectors[5:], dataset)
        total += c / 50
        total_grad += np.vstack([gin, gout]) / 50
    assert random.getstate() == after
    assert loss == pytest.approx(total, rel=1e-13)
    assert np.allclose(grad, total_grad, rtol=1e-13, atol=1e-16)


# ---------------------------------------------------------------- utils and sgd

def test_utils_in_place_semantics() -> None:
    from reference.utils.utils import normalizeRows, softmax
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    assert normalizeRows(x) is x
    assert np.allclose(x, [[0.6, 0.8], [0.0, 0.0]])
    m = np.array([[1.0, 2.0], [5.0, 3.0]])
    probs = softmax(m)
    assert np.array_equal(m, [[-1.0, 0.0], [0.0, -2.0]])  # shifted in place
    assert np.allclose(probs.sum(axis=1), 1.0)
    v = np.array([1.0, 3.0])
    softmax(v)
    assert np.array_equal(v, [-2.0, 0.0])


def test_gradcheck_restores_python_rng_and_reports_failure(capsys) -> None:
    from reference.utils.gradcheck import gradcheck_naive
    draws = []

    def f(x):
        draws.append(random.random())
        return float(np.sum(x ** 2)), 2 * x

    random.seed(1)
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    gradcheck_naive(f, x, "quad")
    assert len(set(draws)) == 1 and len(draws) == 9
    assert capsys.readouterr().out.strip() == PASS_LINE
    assert np.allclose(x, [[1.0, -2.0], [0.5, 3.0]], rtol=0, atol=1e-15)
    gradcheck_naive(lambda x: (float(np.sum(x ** 2)), 3 * x), x, "bad")
    assert capsys.readouterr().out.splitlines() == [
        "Gradient check failed for bad.",
        "First gradient error found at index (0, 0) in the vector of gradients",
        "Your gradient: 3.000000 \t Numerical gradient: 2.000000",
    ]


def test_sgd_save_resume_and_anneal(sgd_module, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sgd_module, "SAVE_PARAMS_EVERY", 2)

    def quad(x):
        return float(np.sum(x ** 2)), 2 * x

    x0 = np.array([1.0, -2.0])
    random.seed(5)
    out = sgd_module.sgd(quad, x0, 0.1, 4, None, True, PRINT_EVERY=2)
    assert out is x0  # updated in place, like x -= step * grad
    assert np.allclose(out, np.array([1.0, -2.0]) * 0.8 ** 4)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "saved_params_2.npy", "saved_params_4.npy", "saved_state_2.pickle", "saved_state_4.pickle"]
    with open("saved_state_4.pickle", "rb") as f:
        assert pickle.load(f) == random.getstate()
    assert capsys.readouterr().out.splitlines()[0] == f"iter 2: {quad(out / 0.8 ** 3)[0]:f}"

    start, params, state = sgd_module.load_saved_params()
    assert start == 4 and np.array_equal(params, out) and state == random.getstate()
    resumed = sgd_module.sgd(quad, np.zeros(2), 0.1, 5, None, True, PRINT_EVERY=10)
    step = 0.1 * 0.5 ** (4 / 20000)
    assert np.allclose(resumed, out * (1 - 2 * step), rtol=1e-15)


def test_load_reference_isolates_utils() -> None:
    fake = SimpleNamespace(__name__="utils")
    saved = sys.modules.get("utils")
    sys.modules["utils"] = fake
    try:
        mods = load_reference.__wrapped__()
        assert sys.modules["utils"] is fake
        assert mods.word2vec.softmax.__module__ == "utils.utils"
        assert "utils.utils" not in sys.modules
        assert mods.word2vec.__name__ == "_w2v_reference_word2vec"
        assert str(REFERENCE) not in sys.path
    finally:
        if saved is None:
            sys.modules.pop("utils", None)
        else:
            sys.modules["utils"] = saved
