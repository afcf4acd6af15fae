"""Symbolic derivations of the reference gradients and the ``verify-reference`` command.

Every gradient the reference solution uses is derived with sympy from the
handout's loss, proved equal to the implemented closed form and compared
with reference/word2vec.py; deliberately wrong closed forms must be rejected.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import sympy as sp

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grader.cli import main
from reference import derivations as D
from reference import load_reference

HANDOUT_ROWS = {
    "b.i", "d.uo", "d.uw", "e", "e.rows", "f", "g", "h.i.vc", "h.i.uo", "h.i.uws",
    "i.vc", "i.uo", "i.uws", "j.i", "j.ii", "j.iii", "j.i.neg", "j.ii.neg", "j.iii.neg",
}


@pytest.fixture(scope="module")
def w2v():
    return load_reference().word2vec


@pytest.fixture(scope="module")
def results(w2v):
    return D.verify_all(seed=0, word2vec=w2v)


def test_symbolic_sizes_pairwise_different():
    assert len({D.SYM_D, D.SYM_V, D.SYM_K}) == 3
    assert len(D.SYM_NEG_REPEAT) == D.SYM_K and len(set(D.SYM_NEG_REPEAT)) < D.SYM_K
    assert len(set(D.SYM_NEG_DISTINCT)) == D.SYM_K and D.SYM_O not in D.SYM_NEG_DISTINCT
    assert D.SYM_C in D.SYM_WINDOW and len(set(D.SYM_WINDOW)) < len(D.SYM_WINDOW) == 2 * D.SYM_M


def test_every_handout_gradient_is_checked(results):
    assert HANDOUT_ROWS <= {r.name for r in results}


def test_every_derivation_proved_and_matches_reference(results):
    for r in results:
        assert r.proved, f"{r.name} not proved: {r.detail}"
        assert r.max_error <= 1e-12, f"{r.name}: max error {r.max_error:g} {r.detail}"
        assert r.ok


def test_wrong_closed_forms_are_rejected(w2v):
    wrong = D.verify_wrong_forms(seed=1, word2vec=w2v)
    assert len(wrong) >= 5
    for r in wrong:
        assert not r.proved, f"prover accepted the wrong form {r.name}: {r.formula}"
        assert r.ok
        assert r.max_error > 1e-3, f"{r.name} is numerically indistinguishable from the reference"


def test_prover_basics():
    x, y = sp.symbols("x y", real=True)
    assert D.is_identically_zero(sp.exp(x) * sp.exp(x) - sp.exp(2 * x))
    assert D.is_identically_zero(D.sigmoid_expr(x) - sp.exp(x) / (sp.exp(x) + 1))
    assert not D.is_identically_zero(sp.exp(x) - sp.exp(-x))
    assert not D.is_identically_zero(D.sigmoid_expr(x) - D.sigmoid_expr(y))
    m = sp.Matrix([[x, y, 1]])
    assert D.matrices_equal(m, m) and not D.matrices_equal(m, m.T)


def test_cli_subprocess_prints_table():
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "verify-reference"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for name in HANDOUT_ROWS:
        row = next(line for line in lines if line.split()[:1] == [name])
        assert "✓" in row and row.rstrip().endswith("ok"), row
    assert "FAIL" not in proc.stdout
    assert "all derivations verified" in proc.stdout


def _neg_sampling_without_counts(w2v):
    """A buggy negSamplingLossAndGradient: a repeated sample's row is overwritten, not summed."""

    def loss_and_gradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
        samples = w2v.getNegativeSamples(outsideWordIdx, dataset, K)
        u_o, u_neg = outsideVectors[outsideWordIdx], outsideVectors[samples]
        s_o, s_neg = w2v.sigmoid(u_o @ centerWordVec), w2v.sigmoid(-(u_neg @ centerWordVec))
        grad_center = -(1 - s_o) * u_o + (1 - s_neg) @ u_neg
        grad_outside = np.zeros_like(outsideVectors)
        grad_outside[outsideWordIdx] = -(1 - s_o) * centerWordVec
        grad_outside[samples] = np.outer(1 - s_neg, centerWordVec)
        return -np.log(s_o) - np.sum(np.log(s_neg)), grad_center, grad_outside

    return loss_and_gradient


def test_cli_exit_1_when_reference_is_wrong(w2v, monkeypatch, capsys):
    buggy = SimpleNamespace(
        sigmoid=w2v.sigmoid,
        naiveSoftmaxLossAndGradient=w2v.naiveSoftmaxLossAndGradient,
        getNegativeSamples=w2v.getNegativeSamples,
        negSamplingLossAndGradient=_neg_sampling_without_counts(w2v),
        skipgram=w2v.skipgram,
    )
    monkeypatch.setattr(D, "load_reference_word2vec", lambda: buggy)
    assert main(["verify-reference", "--points", "2"]) == 1
    out = capsys.readouterr().out
    failed = {line.split()[0] for line in out.splitlines() if line.rstrip().endswith("FAIL")}
    assert {"i.uws", "i.U", "j.i.neg"} <= failed
    assert not failed & {"b.i", "e", "h.i.vc", "h.i.uws", "i.vc", "j.i"}


def _scripted(samples):
    return D.ScriptedDataset(samples)


def _assert_close(got, want):
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert got.shape == want.shape
    assert D.relative_error(got, want) <= 1e-12


def test_reference_value_at_other_sizes(w2v):
    rng = np.random.default_rng(7)
    p = D.random_point(rng, d=4, V=7, K=6, m=3, repeats=True)
    assert (p.d, p.V, p.K, len(p.window)) == (4, 7, 6, 6)
    assert p.negatives.count(p.negatives[p.s]) > 1 and p.o not in p.negatives and p.w not in (p.o, p.c)
    U_rows, C_rows = p.U.T.copy(), p.Vc.T.copy()

    _, gc, go = w2v.naiveSoftmaxLossAndGradient(p.v_c.copy(), p.o, U_rows, _scripted([]))
    _assert_close(D.reference_value("b.i", p), gc)
    _assert_close(D.reference_value("d.uo", p), go[p.o])
    _assert_close(D.reference_value("d.uw", p), go[p.w])
    _assert_close(D.reference_value("e", p), go.T)

    _, gc, go = w2v.negSamplingLossAndGradient(p.v_c.copy(), p.o, U_rows, _scripted(p.negatives), K=p.K)
    _assert_close(D.reference_value("h.i.vc", p), gc)
    _assert_close(D.reference_value("h.i.uo", p), go[p.o])
    _assert_close(D.reference_value("i", p), go[p.negatives[p.s]])
    with pytest.raises(ValueError):
        D.reference_value("h.i.uws", p)

    tokens = [f"t{k}" for k in range(p.V)]
    word2ind = {t: k for k, t in enumerate(tokens)}
    _, gC, gO = w2v.skipgram(
        tokens[p.c], len(p.window) // 2, [tokens[k] for k in p.window], word2ind, C_rows, U_rows,
        _scripted([]), w2v.naiveSoftmaxLossAndGradient,
    )
    _assert_close(D.reference_value("j.i", p), gO.T)
    _assert_close(D.reference_value("j.ii", p), gC[p.c])
    assert np.array_equal(D.reference_value("j.iii", p), np.zeros(p.d))

    s = w2v.sigmoid(p.x)
    assert abs(D.reference_value("g", p) - s * (1 - s)) <= 1e-12
    assert D.reference_value("f", p) == pytest.approx(p.alpha if p.x < 0 else 1.0, abs=1e-15)


def test_reference_value_part_h_distinct(w2v):
    rng = np.random.default_rng(11)
    p = D.random_point(rng, d=4, V=7, K=6, m=2, repeats=False)
    assert len(set(p.negatives)) == p.K
    _, _, go = w2v.negSamplingLossAndGradient(p.v_c.copy(), p.o, p.U.T.copy(), _scripted(p.negatives), K=p.K)
    _assert_close(D.reference_value("h.i.uws", p), go[p.negatives[p.s]])
    _assert_close(D.reference_value("i", p), go[p.negatives[p.s]])


def test_leaky_relu_both_signs():
    rng = np.random.default_rng(3)
    p = D.random_point(rng)
    for x in (-2.5, 1.5):
        p.x = x
        assert D.reference_value("f", p) == pytest.approx(p.alpha if x < 0 else 1.0, abs=1e-15)
    p.x = 0.0
    with pytest.raises(ValueError):
        D.reference_value("f", p)
