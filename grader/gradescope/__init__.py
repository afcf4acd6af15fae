"""The Gradescope deployment: everything that makes the grader an autograder on Gradescope, in one place.

* :mod:`.results_json`: a :class:`~grader.results.GradeResult` as Gradescope's ``results.json``
  (built, validated against ``grader/schemas/results.schema.json``, written atomically);
* :mod:`.run_autograder`: one submission, as Gradescope runs it (``w2v-grader run-autograder``):
  file protection, the time budget, always a valid results.json;
* :mod:`.engine`: the grading engine's child process, its watchdog and the OOM-killer policy;
* :mod:`.build_autograder`: the zip uploaded as the autograder (``w2v-grader build-autograder``);
* ``bundle/``: the zip's top-level files: ``setup.sh``, ``run_autograder``, ``requirements.txt``
  (the pinned runtime) and ``pyproject.toml``.

The command-line options of the two commands are in :mod:`grader.commands`.  This ``__init__``
imports nothing, so the zip builder runs on the standard library alone.
"""
