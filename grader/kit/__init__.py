"""The students' self-check kit: ``w2v-grader check`` on their machine, without the reference solution.

:mod:`.build` builds it (``w2v-grader build-kit``): an installable zip of an allowlist of the
grader's modules, the provided ``utils`` package, the reference's outputs for the *visible* tests
only, and the speed calibration measured on the instructor's machine.  Inside an installed kit
those are read by the reference side, :mod:`grader.expected.kit_store`, and speed is timed against
``grader/expected/calibration/word2vec.py`` instead of the reference.
"""
