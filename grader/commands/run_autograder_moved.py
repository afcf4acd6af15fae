"""``w2v-grader run-autograder``: moved to :mod:`grader.gradescope.run_autograder` (adapter rewritten next)."""

from grader.gradescope.run_autograder import register, run  # noqa: F401
