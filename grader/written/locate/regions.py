"""The answer region of a block: copied handout question text is skipped (recognised by its
phrases), placeholders ('Answer here', 'TODO', 'Skipped', '—') count as nothing written.
"""

from __future__ import annotations

import re

from grader.written.locate.markers import Block

# --------------------------------------------------------------------------- question text

QUESTION_PHRASES = (
    "prove that the naive-softmax loss", "show that the naive-softmax loss", "your answer should be one line",
    "you may describe your answer in words", "compute the partial derivative", "compute the partial derivatives",
    "please write your answer in terms of", "please write your answers in terms of", "show your work to receive",
    "the shape convention: the partial", "vectorized form", "when is the gradient you computed equal to zero",
    "you may wish to review", "the gradient you found is the difference", "provide an interpretation of how",
    "l2 normalized vectors", "hypothetical downstream task", "when would l2 normalization",
    "consider the case where", "give examples of words", "break down your answer in terms of the column",
    "no derivations are necessary", "the leaky relu", "you may ignore the case where the derivative",
    "the sigmoid function is given by", "please compute the derivative of", "where x is a scalar",
    "now we shall consider the negative sampling", "assume that k negative samples", "for simplicity of notation",
    "assume that the k negative samples are distinct", "the negative sampling loss function is given by",
    "please repeat parts", "you should be able to use your solution", "which quantity could you reuse",
    "an efficient implementation of backpropagation", "describe with one sentence why",
    "now we will repeat the previous exercise", "you may not assume that the words are distinct",
    "break up the sum in the loss function", "notation-wise, you may write", "suppose the center word is",
    "recall that for the skip-gram", "represents an arbitrary loss term", "write down three partial derivatives",
    "this is very simple", "once you're done", "you're ready to implement word2vec", "the solution should be one",
    "there will be two cases", "in this subpart, you may use specific elements", "note that in this course",
    "after you've done this, describe", "could be $j", "depending on your implementation",
    "write your answers in terms of", "we store the common terms", "additional terms and functions",
    "caveat: so far we have looked", "(3 points)", "(2 points)", "(5 points)", "(4 points)", "(1 point)",
    "(6 points)", "(2 point)", "<sup>", "if you're interested in how to handle",
    "this allows us to efficiently minimize", "note: in the notation for parts", "note: the loss function here is",
    "numpy will automatically broadcast", "note that the true conditional probability",
    "the cross-entropy loss between the true",
)


def is_question_text(paragraph: str) -> bool:
    """A paragraph copied from a handout question (recognised by its phrases)."""
    low = re.sub(r"\s+", " ", paragraph.lower())
    low = low.replace("’", "'")
    return any(phrase in low for phrase in QUESTION_PHRASES)


def paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``(start, end)`` spans of blank-line separated paragraphs in ``text[start:end]``."""
    spans = []
    pos = start
    for m in re.finditer(r"\n[ \t]*\n", text[start:end]):
        spans.append((pos, start + m.start()))
        pos = start + m.end()
    spans.append((pos, end))
    return [(a, b) for a, b in spans if text[a:b].strip()]


_DERIVATIVE_EQ = re.compile(r"(?:\\partial|\\nabla|\\frac\s*\{\s*d|'\s*\().*=|=.*(?:\\partial|\\nabla)", re.S)


def answer_spans(text: str, masked: str, block: Block) -> list[tuple[int, int]]:
    """The spans of ``block`` that are the student's answer.

    Paragraphs of copied question text are dropped, unless they contain a
    derivative equation (a student's answer written under the question).
    """
    spans = []
    for a, b in paragraphs(masked, block.answer_start, block.end):
        if is_question_text(masked[a:b]) and not _DERIVATIVE_EQ.search(text[a:b]):
            continue
        spans.append((a, b))
    return spans


_PLACEHOLDER = re.compile(
    r"^\(?(?:answer(?: goes)? here|your answer here|write your answer here|here|todo|tbd|n/?a|none|-+|[—–]+|"
    r"\.{3}|…|solution here|\[answer\]|\(answer\)|answer:?|skipped|skip|not answered|unanswered|not done|"
    r"not attempted|no answer|left blank|blank|did not answer|didn't answer|not (?:yet )?(?:done|finished))\)?\.?$",
    re.I,
)


def clean_prose(text: str) -> str:
    """Prose without Markdown/LaTeX decoration (math already masked as §)."""
    text = re.sub(r"§+", " ", text)
    text = re.sub(r"\\[A-Za-z]+\*?(\{[^{}]*\})?", " ", text)
    text = re.sub(r"[#*_>`|{}\[\]]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def is_placeholder(text: str) -> bool:
    body = clean_prose(text)
    return not body or bool(_PLACEHOLDER.match(body))
