"""Instructor batch grading: a whole class in parallel, resumable, with gradebook and dashboard.

Entry points: ``w2v-grader batch`` (:mod:`grader.commands.batch`) and
:func:`run_batch`.  See docs/batch.md.
"""

from grader.batch.executors import DaskExecutor, Executor, LocalExecutor, make_executor
from grader.batch.filelock import FileLock, default_speed_lock_path, default_speed_slots
from grader.batch.layout import BatchInput, BatchItem, LayoutError, detect_layout, slugify
from grader.batch.runner import BatchError, BatchOptions, BatchRunner, BatchSummary, run_batch

__all__ = [
    "BatchError", "BatchInput", "BatchItem", "BatchOptions", "BatchRunner", "BatchSummary", "DaskExecutor",
    "Executor", "FileLock", "LayoutError", "LocalExecutor", "default_speed_lock_path", "default_speed_slots",
    "detect_layout",
    "make_executor", "run_batch", "slugify",
]
