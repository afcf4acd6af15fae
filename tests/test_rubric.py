"""Rubric loading and validation."""

from __future__ import annotations

import pytest

from grader.rubric import KNOWN_TEST_IDS, RubricError, load_rubric, parse_rubric


def test_default_rubric_follows_the_handout_points():
    rubric = load_rubric()
    per_function = {}
    for test in rubric.tests:
        per_function[test.function] = per_function.get(test.function, 0) + test.points
    assert per_function == {"sigmoid": 1.0, "naiveSoftmaxLossAndGradient": 4.0, "negSamplingLossAndGradient": 4.0,
                            "skipgram": 3.0, "sgd": 4.0}
    assert rubric.max_score == 16.0
    assert {t.id for t in rubric.tests} == set(KNOWN_TEST_IDS)
    assert rubric.source_hash and len(rubric.source_hash) == 64


@pytest.mark.parametrize("data, needle", [
    ({"name": "x", "tests": [{"id": "nope.correctness", "points": 1}]}, "unknown test id"),
    ({"name": "x", "tests": [{"id": "sigmoid.speed", "points": -1}]}, "'points' must be a number ≥ 0"),
    ({"name": "x", "tests": [{"id": "sigmoid.speed", "visibility": "secret"}]}, "visibility 'secret'"),
    ({"name": "x", "tests": [{"id": "sigmoid.speed"}, {"id": "sigmoid.speed"}]}, "listed twice"),
    ({"name": "x", "tests": [{"id": "sigmoid.speed"}], "speed": {"vectorised_fraction": 2.0}},
     "vectorised_fraction must be below loop_fraction"),
    ({"name": "x", "tests": [{"id": "sigmoid.speed"}], "speed": {"full_credit_ratio": 3}},
     "'full_credit_ratio' is no longer used"),
    ({"name": "x", "tests": [{"id": "sigmoid.speed"}], "speed": {"negative_sampling_full_passes": "half"}},
     "'negative_sampling_full_passes' must be one of"),
    ({"name": "x", "tests": [{"id": "sigmoid.speed"}], "limits": {"memory_mb": "lots"}}, "'memory_mb' must be a number"),
    ({"name": "x", "tests": [{"id": "sigmoid.speed"}], "colour": "blue"}, "unknown key(s) colour"),
    ({"name": "x", "tests": []}, "at least one [[tests]]"),
])
def test_invalid_rubrics_are_rejected_with_a_clear_message(data, needle):
    with pytest.raises(RubricError) as info:
        parse_rubric(data, where="r.toml")
    assert needle in str(info.value)
    assert "r.toml" in str(info.value)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(RubricError, match="cannot read rubric"):
        load_rubric(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed", encoding="utf-8")
    with pytest.raises(RubricError, match="not valid TOML"):
        load_rubric(bad)
