"""``w2v-grader build-kit``: moved to :mod:`grader.kit.build` (adapter rewritten next)."""

from grader.kit.build import register, run  # noqa: F401
