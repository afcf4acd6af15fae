"""Plain-English text the report adds around the grader's verdicts.

Category-level hints are the only explanation a student gets for a hidden
test, so they must never depend on the test's inputs or on what the
submission returned: they are keyed by (function, check kind) alone.
"""

from __future__ import annotations

from typing import Optional

CATEGORY_HINTS: dict[str, str] = {
    "correctness": (
        "Compares your return values with the reference implementation's on fresh inputs. "
        "Check shapes, which rows of the gradient you update, and that nothing depends on one particular size."
    ),
    "gradcheck": (
        "Compares your gradient with a numerical derivative of your own loss. "
        "If it fails, your loss and your gradient disagree: usually a missing term, a wrong sign or a transpose."
    ),
    "stability": (
        "Calls your code with very large scores or dot products. "
        "An overflow warning, inf or nan here usually means exponentials of unshifted scores; "
        "subtract the maximum score, or use the sigmoid identities."
    ),
    "speed": (
        "Times your function against the reference on a realistic vocabulary. "
        "A Python loop over the vocabulary or over vector components is what makes code slow; "
        "use matrix-vector products instead."
    ),
    "integration": (
        "Runs your functions together the way run.py does. Informational: it carries no points."
    ),
}

FUNCTION_HINTS: dict[tuple[str, str], str] = {
    ("negSamplingLossAndGradient", "correctness"): (
        "Negative samples can repeat: every occurrence of a repeated index must add to the gradient "
        "(with numpy fancy indexing, `a[idx] += b` silently keeps only one update per repeated index; "
        "use a loop over the K samples or np.add.at)."
    ),
    ("skipgram", "correctness"): (
        "Sum the loss and both gradients over every outside word in the window, including repeated words "
        "and the center word itself when it appears among the outside words."
    ),
    ("sgd", "correctness"): (
        "Follow the starter exactly: compute loss and gradient once per iteration, update x, apply "
        "postprocessing, anneal the step every ANNEAL_EVERY iterations, and keep the loss in `loss`."
    ),
}

EVENT_EXPLANATIONS: dict[str, str] = {
    "timeout": "Your code ran longer than the time limit and was stopped. Look for an infinite loop, "
               "or a loop over the vocabulary that is far too slow at realistic sizes.",
    "crash": "Your code raised an exception or its Python process died, so nothing could be checked.",
    "exit": "Your code ended the Python process (sys.exit, os._exit or a fatal error). Never call exit in a graded function.",
    "output_truncated": "This costs no points by itself, but printing inside graded functions slows them down (the "
                        "speed tests count it) and can bury your error messages.",
    "memory_limit": "Your code tried to use more memory than allowed. Look for V×V matrices, "
                    "copies inside loops or np.outer on whole vocabularies.",
    "cpu_limit": "Your code used more CPU time than allowed.",
    "process_limit": "Your code tried to start too many processes or threads.",
    "file_size_limit": "Your code tried to write a file larger than allowed.",
    "import_error": "Your file could not be imported. Only numpy, the standard library and the starter's "
                    "utils are available.",
    "syntax_error": "Your file has a syntax error, so none of its functions can be graded.",
    "missing_file": "A required file was not found in your submission.",
    "missing_function": "A graded function is missing from your file.",
    "bad_signature": "A graded function's parameters differ from the starter's; keep the starter's signature.",
    "suspicious": "The grader noticed code that a word2vec solution does not need (for example process control, "
                  "file-system or network access, or changes to numpy/time). It is only reported to course staff "
                  "and changes no result; the sandbox makes it harmless.",
    "speed_stopped": "This is not a crash: the grader stops timing a function once it has clearly used far more CPU "
                     "time than the reference, instead of waiting for it to finish.",
    "note": "",
}

EVENT_TITLES: dict[str, str] = {
    "timeout": "Timed out",
    "crash": "Crashed",
    "exit": "Process exited",
    "output_truncated": "Output truncated",
    "memory_limit": "Memory limit hit",
    "cpu_limit": "CPU limit hit",
    "process_limit": "Process limit hit",
    "file_size_limit": "File size limit hit",
    "import_error": "Import failed",
    "syntax_error": "Syntax error",
    "missing_file": "Missing file",
    "missing_function": "Missing function",
    "bad_signature": "Wrong signature",
    "suspicious": "Suspicious behaviour",
    "speed_stopped": "Timing stopped early",
    "note": "Note",
}

# Event kinds that make a submission "flagged" on the dashboard, and why.
FLAG_KINDS: dict[str, str] = {
    "crash": "crashed",
    "exit": "crashed",
    "timeout": "timed out",
    "memory_limit": "sandbox limit",
    "cpu_limit": "sandbox limit",
    "process_limit": "sandbox limit",
    "file_size_limit": "sandbox limit",
    "output_truncated": "output truncated",
    "suspicious": "suspicious",
    "syntax_error": "did not import",
    "import_error": "did not import",
    "missing_file": "missing file",
}


BASE_OVERRIDES: dict[tuple[str, str], str] = {
    ("sgd", "correctness"): (
        "Runs your sgd on objectives whose every step is known and compares the iterates, the step size and "
        "the reported loss with the reference implementation's."
    ),
    ("sigmoid", "correctness"): (
        "Compares your return values with the reference implementation's on scalars and arrays of several shapes; "
        "the result must have the input's shape."
    ),
}


def category_hint(function: str, check: str) -> str:
    """The hint shown for a hidden test: depends only on the function and the kind of check."""
    base = BASE_OVERRIDES.get((function, check)) or CATEGORY_HINTS.get(check, "")
    extra = FUNCTION_HINTS.get((function, check))
    return f"{base} {extra}" if extra else base


def failure_hint(function: str, check: str, hint: str) -> str:
    """The grader's own hint when it gave one, else the category's."""
    return hint.strip() if hint and hint.strip() else category_hint(function, check)


def event_title(kind: str) -> str:
    return EVENT_TITLES.get(kind, kind.replace("_", " ").capitalize())


def event_explanation(kind: str) -> str:
    return EVENT_EXPLANATIONS.get(kind, "")


def growth_implication(growth_student: Optional[float], growth_reference: Optional[float],
                       factor: int = 4, loops: bool = False, *, sigmoid: bool = False) -> str:
    """What the V→4V growth of the running time says about the implementation.

    The grader decides whether the code loops over the vocabulary (``loops``, from the extra time per
    added word); this text explains that verdict and never contradicts it.  For sigmoid the size that
    grows is the number of input elements, not a vocabulary.
    """
    if growth_student is None:
        return ""
    what, unit, loop = (("the input", "element", "a Python loop over the elements") if sigmoid
                        else ("the vocabulary", "word", "a Python loop over the vocabulary"))
    ref = f" (reference: {growth_reference:.1f}×)" if growth_reference is not None else ""
    text = f"When {what} grew {factor}×, your time grew {growth_student:.1f}×{ref}. "
    if loops:
        return text + (f"Each extra {unit} costs you far more time than it costs the reference: that usually means "
                       f"{loop}; replace it with whole-array (matrix) operations.")
    if growth_reference is not None and growth_student > growth_reference * 1.6 and growth_student > 2.5:
        return text + (f"Your time grew faster than the reference's, but each extra {unit} costs you at most a few "
                       f"times what it costs the reference, which is not the pattern of {loop}.")
    return text + f"Your code scales like the reference's, so any gap is a constant factor, not {loop}."
