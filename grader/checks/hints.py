"""Plain-English hints: what a failure of each test usually means (``TestResult.hint``).

The checks record :func:`hint_for` on every failing test, whatever its visibility.  Who may read
it is decided by the audience policy (:mod:`grader.report.policy`): a student gets the
category-level text of :func:`grader.report.hints.category_hint` for a test that is not visible.
"""

from __future__ import annotations

HINTS: dict[str, str] = {
    "sigmoid.correctness": "sigmoid must work elementwise on scalars and arrays of any shape and return the same shape.",
    "sigmoid.stability": "For large |x|, exp overflows. 1/(1+exp(-x)) is fine; exp(x)/(1+exp(x)) gives inf/inf = nan "
                         "for x ≳ 710. Use a form that never divides two huge numbers.",
    "naiveSoftmaxLossAndGradient.correctness": "Check that ŷ is the softmax of the scores of ALL words, that the "
        "loss is −log ŷ_o, and that your gradients match your derivation in the written part. outsideVectors holds "
        "one word per ROW (shape (V, d), the handout's U transposed), so its gradient has shape (V, d) too.",
    "naiveSoftmaxLossAndGradient.stability": "Large scores overflow exp: subtract the maximum score before "
        "exponentiating (utils.softmax does this for you).",
    "naiveSoftmaxLossAndGradient.gradcheck": "Your loss and your gradient disagree: the gradient is not the "
        "derivative of the loss you return. Re-derive it, and check signs and which rows/columns are updated.",
    "negSamplingLossAndGradient.correctness": "Loss = −log σ(u_oᵀv_c) − Σ_k log σ(−u_kᵀv_c); use the indices "
        "from getNegativeSamples; gradients for repeated negative samples must be added up.",
    "negSamplingLossAndGradient.correctness.repeats": "A negative sample can be drawn several times and each "
        "draw contributes. grad[idx] += values with repeated idx keeps only one contribution; use np.add.at "
        "or a loop with +=.",
    "negSamplingLossAndGradient.stability": "log(1 − σ(z)) becomes log(0) = −inf for z ≳ 37. Write it as "
        "log σ(−z) (and keep sigmoid itself stable).",
    "negSamplingLossAndGradient.gradcheck": "Your loss and gradient disagree. Check the sign of each term and that "
        "every draw of a repeated negative sample contributes to the gradient.",
    "skipgram.correctness": "skipgram must ADD the loss and gradients of every outside word (+=, not =), put the "
        "center-vector gradient in the center word's row, and call word2vecLossAndGradient (not a fixed loss).",
    "skipgram.gradcheck": "Summing over outside words must be consistent with the gradients you return.",
    "skipgram.integration": "Informational: your skipgram with your own losses differs from the reference; fix the "
        "loss functions first (their own tests show where).",
    "sgd.correctness.trajectory": "Each iteration evaluates f once at the current x and takes one step of size "
        "`step` against the gradient (descend: the loss must go down), keeping x's shape.",
    "sgd.correctness.postprocessing": "Apply postprocessing to x after every update and keep its result: "
        "x = postprocessing(x).",
    "sgd.correctness.anneal": "Do not remove the provided annealing: step *= 0.5 every ANNEAL_EVERY iterations.",
    "sgd.correctness.progress": "Call f exactly once per iteration and store the loss it returns in the variable "
        "`loss`, so the provided progress print can show it.",
    "sgd.correctness.saved_params": "With useSaved=True the provided code resumes from saved_params_*.npy; keep that "
        "scaffolding and start your loop from the loaded x.",
    "sgd.integration": "Informational: training the word vectors with your sgd did not match the reference.",
}


def hint_for(test_id: str) -> str:
    """Most specific hint for a test id (``a.b.c`` falls back to ``a.b``)."""
    parts = test_id.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in HINTS:
            return HINTS[key]
    return ""
