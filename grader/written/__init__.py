"""Written-answer checker: locate, parse and numerically verify the derivations of handout part 1.

See ``README.md`` in this folder; the entry points are :func:`grader.written.grade.grade_file` and
the ``w2v-grader written`` command.
"""
