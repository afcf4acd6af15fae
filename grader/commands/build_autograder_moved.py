"""``w2v-grader build-autograder``: moved to :mod:`grader.gradescope.build_autograder` (adapter renamed next)."""

from grader.gradescope.build_autograder import register, run  # noqa: F401
