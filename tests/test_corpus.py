"""Grade every sample submission in submissions/ and assert its expected outcome (the regression corpus).

Real student-like code runs in the real sandbox; each sample's expected.toml says which tests must
pass/fail/error, which events must be reported and the score bounds.
"""

from __future__ import annotations

import pytest

from grader.corpus import load_corpus, mismatches
from grader.pipeline import grade_submission
from grader.results import Status

CORPUS = load_corpus()


def test_corpus_is_big_enough_and_covers_every_category():
    assert len(CORPUS) >= 15
    assert {"correct", "bug", "slow", "broken", "hostile"} <= {e.category for e in CORPUS}


@pytest.mark.parametrize("expectation", CORPUS, ids=[e.name for e in CORPUS])
def test_sample_submission_gets_its_expected_outcome(expectation, corpus_dir):
    result = grade_submission(corpus_dir / expectation.name)
    problems = mismatches(expectation, result)
    assert not problems, f"{expectation.name}: {expectation.description}\n  " + "\n  ".join(problems)
    # a verdict is always explained: every non-passing test says why
    for test in result.tests:
        if test.status != Status.PASSED:
            assert test.summary, test.test_id
