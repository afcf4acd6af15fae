"""The reference side: expected values and the timing baseline (never inside a student's worker).

* :mod:`.outcomes`: :func:`~grader.expected.outcomes.expected_outcomes` (the reference's outcome
  of each call) and :func:`~grader.expected.outcomes.timing_baseline` (what speed is timed against);
* :mod:`.cache`: the disk cache of the reference's outcomes (``$W2V_CACHE_DIR``);
* :mod:`.kit_store`: what a self-check kit ships instead of the reference: the visible tests'
  expected values and the speed calibration (built by :mod:`grader.kit.build`);
* ``calibration/word2vec.py``: the kit's calibration workload (data, not a module of the grader).

The reference solution itself is the top-level ``reference`` package.  This package's ``__init__``
imports nothing, so :mod:`.cache` stays light.
"""
