"""Sub-commands of ``w2v-grader``: one module each, discovered by :mod:`grader.cli`."""
