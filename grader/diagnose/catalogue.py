"""The catalogue of known mistakes: one entry per mistake, for every graded function.

An entry names a mistake (a stable id, ``<function prefix>.<what>``), the flags that switch
it on in :mod:`grader.diagnose.mutants` (the trusted implementation of the mistaken
computation), a student-facing explanation in words (what the code does wrong, what to do
instead: never code of the solution, never a test's values) and the tests it makes fail.

To add a mistake: add its flag to the function's mutant in ``mutants.py`` (one small ``if``),
one :class:`Mistake` here, and a sample submission that makes it (``submissions/bug_*``, its
``[diagnosis]`` table naming the id).  See ``docs/diagnosis.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = {"sigmoid": "sigmoid", "naiveSoftmaxLossAndGradient": "naive", "negSamplingLossAndGradient": "neg",
          "skipgram": "skipgram", "sgd": "sgd"}
"""Graded function -> the prefix of its mistakes' ids."""


@dataclass(frozen=True)
class Mistake:
    """One known mistake of one graded function."""

    id: str
    function: str
    flags: frozenset[str]
    title: str  # a short name: "the one-hot y is never subtracted"
    explanation: str  # what the code does wrong and what to do instead (words only)
    tests: tuple[str, ...]  # test-id suffixes it makes fail ("correctness", "stability", "gradcheck", ...)


def _m(id_: str, flags: str, title: str, explanation: str, tests: str) -> Mistake:
    prefix = id_.split(".")[0]
    function = next(f for f, p in PREFIX.items() if p == prefix)
    return Mistake(id_, function, frozenset(flags.split()), title, explanation, tuple(tests.split()))


CATALOGUE: tuple[Mistake, ...] = (
    # --- sigmoid --------------------------------------------------------------------------------
    _m("sigmoid.exp_ratio", "exp_ratio", "written as exp(x) / (1 + exp(x))",
       "Your sigmoid computes exp(x) / (1 + exp(x)). The two are equal on paper, but for large positive x "
       "exp(x) overflows to inf and inf / inf is nan. Use a form that only ever exponentiates a non-positive "
       "number (or a library logistic function).", "stability"),
    _m("sigmoid.sign_flipped", "sign_flipped", "the sign of the exponent is flipped",
       "Your sigmoid computes 1 / (1 + e^x), which is σ(−x): the minus sign in the exponent is missing. "
       "σ(x) must approach 1 for large positive x.", "correctness stability"),
    _m("sigmoid.no_one", "no_one", "the 1 + in the denominator is missing",
       "Your sigmoid computes 1 / e^(−x) = e^x: the denominator must be 1 + e^(−x).", "correctness stability"),
    _m("sigmoid.minus_denominator", "minus_denominator", "1 − e^(−x) in the denominator",
       "Your denominator is 1 − e^(−x); the logistic function has 1 + e^(−x).", "correctness stability"),
    _m("sigmoid.tanh_no_half", "tanh_no_half", "the tanh identity without halving x",
       "Your sigmoid computes ½(1 + tanh(x)). The identity is σ(x) = ½(1 + tanh(x/2)): the argument of tanh "
       "must be halved.", "correctness"),
    _m("sigmoid.derivative", "derivative", "returns the derivative σ(x)(1 − σ(x))",
       "Your function returns σ(x)·(1 − σ(x)), the derivative of the sigmoid, instead of σ(x) itself.",
       "correctness stability"),
    _m("sigmoid.math_exp", "math_exp", "math.exp only takes scalars",
       "Your sigmoid uses math.exp, which only accepts a single number: on an array it raises TypeError. "
       "Use numpy's elementwise exp so vectors and matrices work.", "correctness stability"),

    # --- naive softmax ----------------------------------------------------------------------------
    _m("naive.no_one_hot", "no_one_hot", "the one-hot y is never subtracted",
       "Your gradients use ŷ where they need ŷ − y: the 1 for the outside word o is never subtracted from "
       "the predicted probabilities. Both gradients are built from (ŷ − y).", "correctness gradcheck"),
    _m("naive.grad_center_sign", "grad_center_sign", "gradCenterVec has the wrong sign",
       "Your gradCenterVec is the negative of the correct gradient: it uses y − ŷ where the derivative of "
       "the loss −log P(o|c) needs ŷ − y (the loss is minimised). gradOutsideVecs has the right sign.",
       "correctness gradcheck"),
    _m("naive.grads_negated", "grads_negated", "both gradients have the wrong sign",
       "Both of your gradients are negated: they are the gradient of log P(o|c), not of the loss "
       "−log P(o|c). Use ŷ − y, not y − ŷ.", "correctness gradcheck"),
    _m("naive.loss_sign", "loss_sign", "the loss is log P instead of −log P",
       "Your loss is log P(o|c); the loss to minimise is its negative, −log P(o|c). The gradients are right.",
       "correctness gradcheck"),
    _m("naive.transposed", "transposed", "gradOutsideVecs is (d, V), transposed",
       "Your gradOutsideVecs has one word per column, shape (d, V), as in the handout's U. In the code, "
       "outsideVectors holds one word per ROW (V, d), and its gradient must have the same shape, one row per "
       "word.", "correctness gradcheck"),
    _m("naive.sign_and_transpose", "grads_negated transposed", "both gradients negated and gradOutsideVecs transposed",
       "Two mistakes together: both gradients have the wrong sign (y − ŷ instead of ŷ − y) and "
       "gradOutsideVecs is transposed, shape (d, V) instead of one word per row (V, d).", "correctness gradcheck"),
    _m("naive.no_max_shift", "no_max_shift", "softmax without subtracting the largest score",
       "Your softmax exponentiates the raw scores: a score above ~709 overflows exp() to inf and the "
       "probabilities become nan. Subtract the largest score before exponentiating (it cancels out), or use "
       "the provided softmax.", "stability"),
    _m("naive.log10", "log10", "log base 10 in the loss",
       "Your loss uses a base-10 logarithm; the cross-entropy loss uses the natural log (np.log). The "
       "gradients are those of the natural-log loss, so the gradient check fails too.", "correctness gradcheck"),
    _m("naive.missing_log", "missing_log", "the log is missing from the loss",
       "Your loss is −ŷ_o, the probability itself; the loss is −log ŷ_o.", "correctness gradcheck"),
    _m("naive.center_only_uo", "center_only_uo", "gradCenterVec keeps only −u_o",
       "Your gradCenterVec is −u_o only: the terms that come from the softmax's denominator (every word's "
       "outside vector, weighted by its predicted probability) are missing.", "correctness gradcheck"),
    _m("naive.outside_row_only", "outside_row_only", "gradOutsideVecs only has the outside word's row",
       "Your gradOutsideVecs is zero except for the row of the outside word o. Every word w appears in the "
       "softmax's denominator, so every row gets (ŷ_w − y_w) v_c.", "correctness gradcheck"),
    _m("naive.sigmoid_probs", "sigmoid_probs", "probabilities from a sigmoid instead of a softmax",
       "Your probabilities are σ(u_w·v_c) for each word separately; the naive-softmax model normalises over "
       "the vocabulary: exp(u_w·v_c) / Σ_x exp(u_x·v_c).", "correctness gradcheck"),
    _m("naive.modifies_outside", "modifies_outside", "outsideVectors is changed in place",
       "Your function returns the right values but changes outsideVectors in place. The caller (skip-gram, "
       "the training loop) reuses that array: compute on copies and never assign into an argument.",
       "correctness"),
    _m("naive.swapped", "swapped", "the two gradients are returned in the wrong order",
       "Your function returns (loss, gradOutsideVecs, gradCenterVec): the gradients come back swapped. The "
       "order is loss, gradCenterVec, gradOutsideVecs.", "correctness gradcheck"),

    # --- negative sampling ------------------------------------------------------------------------
    _m("neg.repeats_overwritten", "repeats_overwritten", "a repeated negative sample is counted once",
       "When the same word is drawn more than once as a negative sample, your gradOutsideVecs counts it once: "
       "updating the rows with fancy indexing (grad[indices] += …) keeps one update per distinct word. Each "
       "draw contributes its own term: accumulate them in a loop or with np.add.at.", "correctness"),
    _m("neg.log_one_minus_sigmoid", "log_one_minus_sigmoid", "log(1 − σ(z)) for the negative samples",
       "Your loss writes the negatives' terms as log(1 − σ(u_k·v_c)). For a large score σ rounds to 1 and "
       "the log of 0 is −inf. Write it as log σ(−u_k·v_c), which never subtracts from 1.", "stability"),
    _m("neg.center_sign_negatives", "center_sign_negatives", "the negatives' terms are subtracted from gradCenterVec",
       "In gradCenterVec the negative samples' terms have the wrong sign (the outside word's term is right): "
       "check the sign of each negative sample's term against your derivation.", "correctness gradcheck"),
    _m("neg.grads_negated", "grads_negated", "both gradients have the wrong sign",
       "Both of your gradients are negated: they are those of the log-likelihood, not of the loss to "
       "minimise.", "correctness gradcheck"),
    _m("neg.loss_sign", "loss_sign", "the loss has the wrong sign",
       "Your loss is log σ(u_o·v_c) + Σ_k log σ(−u_k·v_c); the loss is its negative.", "correctness gradcheck"),
    _m("neg.grad_sigma_flipped", "grad_sigma_flipped", "σ(z) where the gradient needs 1 − σ(z)",
       "Your gradients use σ(u·v_c) where the derivative of log σ(z) gives 1 − σ(z) = σ(−z) (and the other "
       "way round for the negative samples). The loss is right.", "correctness gradcheck"),
    _m("neg.negatives_not_negated", "negatives_not_negated", "the negative samples' scores are not negated",
       "Your loss and gradients treat the negative samples like the outside word: they use σ(u_k·v_c) where "
       "the model has σ(−u_k·v_c). Negative samples should get a LOW score.", "correctness gradcheck"),
    _m("neg.K_ignored", "K_ignored", "K is ignored (always 10 negatives)",
       "Your function draws 10 negative samples whatever K it is given. Use the K argument.",
       "correctness"),
    _m("neg.first_negative_skipped", "first_negative_skipped", "the first negative sample is skipped",
       "Your loop over the negative samples skips the first one (it starts at index 1 of the negatives, as "
       "if the outside word were still at the front of that list). All K negatives count.",
       "correctness gradcheck"),
    _m("neg.repeats_deduplicated", "repeats_deduplicated", "repeated negative samples are dropped entirely",
       "Your code keeps each distinct negative word once (in the loss and in both gradients): a word drawn "
       "twice must count twice, in the loss and in every gradient.", "correctness"),
    _m("neg.grouped_by_score", "grouped_by_score", "repeated negatives merged by equal score",
       "Your code merges negative samples whose scores u_k·v_c are equal (grouping by score value) and credits "
       "them all to one word. Different words can have the same score (at the start of training every score "
       "is 0): group by word index, or simply accumulate every draw.", "correctness"),
    _m("neg.negative_rows_missing", "negative_rows_missing", "gradOutsideVecs has no rows for the negatives",
       "Your gradOutsideVecs only has the outside word's row; the negative samples' rows are missing (each "
       "draw adds a term to its word's row).", "correctness gradcheck"),
    _m("neg.outside_counted_as_negative", "outside_counted_as_negative", "the outside word is also summed as a negative",
       "Your sum over the negative samples also includes the outside word o (the loop runs over the list "
       "that starts with o). Only the K sampled words are negatives.", "correctness gradcheck"),
    _m("neg.negatives_averaged", "negatives_averaged", "the negative samples' terms are averaged",
       "Your loss and gradients divide the negative samples' sum by K; the objective adds the K terms up.",
       "correctness gradcheck"),
    _m("neg.transposed", "transposed", "gradOutsideVecs is (d, V), transposed",
       "Your gradOutsideVecs has shape (d, V); outsideVectors has one word per row, (V, d), and its gradient "
       "must have the same shape.", "correctness gradcheck"),
    _m("neg.log10", "log10", "log base 10 in the loss",
       "Your loss uses a base-10 logarithm; use the natural log.", "correctness gradcheck"),
    _m("neg.swapped", "swapped", "the two gradients are returned in the wrong order",
       "Your function returns (loss, gradOutsideVecs, gradCenterVec); the order is loss, gradCenterVec, "
       "gradOutsideVecs.", "correctness gradcheck"),

    # --- skip-gram --------------------------------------------------------------------------------
    _m("skipgram.grads_assigned", "grads_assigned", "gradients assigned (=) instead of accumulated (+=)",
       "In your loop over the outside words the gradients are assigned, so only the last outside word's "
       "gradients survive. Skip-gram sums over every outside word: accumulate with +=.", "correctness gradcheck"),
    _m("skipgram.all_assigned", "all_assigned", "loss and gradients assigned instead of accumulated",
       "In your loop over the outside words the loss and the gradients are assigned, so only the last "
       "outside word counts. Accumulate all three with +=.", "correctness gradcheck"),
    _m("skipgram.center_grad_wrong_row", "center_grad_wrong_row", "the center gradient goes to the outside word's row",
       "Your gradCenterVecs adds each gradient to the row of the OUTSIDE word; it belongs to the row of the "
       "center word (only that row of gradCenterVecs is non-zero).", "correctness gradcheck"),
    _m("skipgram.center_grad_all_rows", "center_grad_all_rows", "the center gradient is added to every row",
       "Your gradCenterVecs adds the center word's gradient to every row (broadcasting): only the center "
       "word's row should get it.", "correctness gradcheck"),
    _m("skipgram.outside_vector_as_center", "outside_vector_as_center", "the center word's OUTSIDE vector is used",
       "Your skip-gram passes the center word's row of outsideVectors as v_c; the center vector comes from "
       "centerWordVectors.", "correctness gradcheck"),
    _m("skipgram.center_vectors_as_outside", "center_vectors_as_outside", "centerWordVectors passed as the outside vectors",
       "Your skip-gram hands centerWordVectors to the loss function where it expects outsideVectors.",
       "correctness gradcheck"),
    _m("skipgram.outside_word_as_center", "outside_word_as_center", "the outside word's index picks the center vector",
       "Your skip-gram takes v_c from the row of each OUTSIDE word; v_c is the row of the current center word, "
       "the same for the whole window.", "correctness gradcheck"),
    _m("skipgram.averaged", "averaged", "loss and gradients averaged over the window",
       "Your skip-gram divides the loss and gradients by the number of outside words; the skip-gram "
       "objective for one window is their sum.", "correctness gradcheck"),
    _m("skipgram.swapped", "swapped", "the two gradients are returned in the wrong order",
       "Your skipgram returns (loss, gradOutsideVectors, gradCenterVecs); the order is loss, gradCenterVecs, "
       "gradOutsideVectors.", "correctness gradcheck"),
    _m("skipgram.only_window_words", "only_window_words", "only the first windowSize outside words are used",
       "Your loop stops after windowSize outside words. outsideWords already holds the whole window (up to "
       "2·windowSize words): use every word in it.", "correctness gradcheck"),
    _m("skipgram.repeated_words_once", "repeated_words_once", "a repeated outside word is counted once",
       "Your skip-gram counts each distinct outside word once; a word that occurs twice in the window "
       "contributes twice.", "correctness"),
    _m("skipgram.skips_center_word", "skips_center_word", "outside words equal to the center word are skipped",
       "Your skip-gram skips outside words that are the same word as the center; they still count as outside "
       "words (the center and outside vectors are different vectors).", "correctness"),

    # --- sgd --------------------------------------------------------------------------------------
    _m("sgd.ascent", "ascent", "moves up the gradient (x += step·grad)",
       "Your update adds step·grad to x, which climbs the loss. Gradient descent subtracts it.", "trajectory"),
    _m("sgd.step_ignored", "step_ignored", "the step size is ignored",
       "Your update subtracts the raw gradient: multiply it by step first.", "trajectory"),
    _m("sgd.restarts_from_x0", "restarts_from_x0", "every update starts again from x0",
       "Your update computes x from the initial x0 each time (x = x0 − step·grad), so x never moves further "
       "than one step from where it started. Update the current x.", "trajectory"),
    _m("sgd.double_anneal", "double_anneal", "the step is halved twice",
       "Your loop halves the step every ANNEAL_EVERY iterations in addition to the provided code doing it: "
       "the step ends up quartered. Leave the annealing to the provided lines.", "anneal"),
    _m("sgd.no_anneal", "no_anneal", "the step is never annealed",
       "Your sgd never halves the step every ANNEAL_EVERY iterations: keep the provided annealing lines.",
       "anneal"),
    _m("sgd.loss_not_assigned", "loss_not_assigned", "loss is never assigned",
       "Your loop never assigns the loss f returns (it stays None), so the progress printout fails. "
       "Unpack both values: loss and gradient.", "progress"),
    _m("sgd.postprocessing_ignored", "postprocessing_ignored", "postprocessing is never applied",
       "Your sgd never calls postprocessing: apply it to x after every update.", "postprocessing"),
    _m("sgd.postprocessing_discarded", "postprocessing_discarded", "postprocessing's result is thrown away",
       "Your sgd calls postprocessing(x) but does not keep what it returns: assign the result back to x.",
       "postprocessing"),
    _m("sgd.postprocessing_before_update", "postprocessing_before_update", "postprocessing applied before the update",
       "Your sgd applies postprocessing before the gradient step; it belongs after it, to the updated x.",
       "postprocessing"),
    _m("sgd.f_called_twice", "f_called_twice", "f is evaluated twice per iteration",
       "Your loop calls f twice in every iteration (once for the loss, once for the gradient). Each call "
       "costs a full pass over a batch: call it once and unpack both values.", "progress"),
    _m("sgd.saved_params_ignored", "saved_params_ignored", "useSaved does not resume",
       "With useSaved your sgd starts again from x0 at iteration 1 instead of the saved parameters, "
       "iteration and random state; keep the provided resume lines.", "saved_params"),
)
"""Every known mistake, in matching priority order (the first full match is the one named)."""

BY_ID: dict[str, Mistake] = {m.id: m for m in CATALOGUE}


def for_function(function: str) -> list[Mistake]:
    """The catalogue's entries for one graded function, in priority order."""
    return [m for m in CATALOGUE if m.function == function]


def combination(mistakes: tuple[Mistake, ...]) -> Mistake:
    """The entry for several mistakes made together (their flags combined, their explanations joined)."""
    if len(mistakes) == 1:
        return mistakes[0]
    first = mistakes[0]
    return Mistake("+".join(m.id for m in mistakes), first.function, frozenset().union(*(m.flags for m in mistakes)),
                   " and ".join(m.title for m in mistakes),
                   " Also: ".join(m.explanation for m in mistakes),
                   tuple(dict.fromkeys(t for m in mistakes for t in m.tests)))
