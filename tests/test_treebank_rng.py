"""StanfordSentiment reproduces the starter's vocabulary, sampling and RNG order.

The real-data tests use ../shared/data/stanfordSentimentTreebank (beside the
repository) and are skipped when it is absent; the synthetic tests always run.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TREEBANK = SHARED / "data" / "stanfordSentimentTreebank"
sys.path.insert(0, str(REPO))
from reference.utils.treebank import StanfordSentiment

needs_shared = pytest.mark.skipif(
    not (TREEBANK / "datasetSentences.txt").exists(),
    reason=f"shared treebank not found at {TREEBANK} (../shared beside the repo is absent)")


@pytest.fixture(autouse=True)
def _keep_rng_state():
    """Restore Python's and numpy's global RNG state after each test."""
    py_state, np_state = random.getstate(), np.random.get_state()
    yield
    random.setstate(py_state)
    np.random.set_state(np_state)


@pytest.fixture(scope="module")
def replay() -> dict:
    """run.py's start: seeds, tokens, word vectors, first window and context."""
    state = random.getstate(), np.random.get_state()
    random.seed(314)
    dataset = StanfordSentiment(str(TREEBANK))
    tokens = dataset.tokens()
    random.seed(31415)
    np.random.seed(9265)
    np.concatenate(((np.random.rand(len(tokens), 10) - 0.5) / 10, np.zeros((len(tokens), 10))))
    window = random.randint(1, 5)
    center, context = dataset.getRandomContext(window)
    random.setstate(state[0])
    np.random.set_state(state[1])
    return {"dataset": dataset, "tokens": tokens, "window": window,
            "center": center, "context": context}


@needs_shared
def test_vocabulary(replay: dict) -> None:
    dataset, tokens = replay["dataset"], replay["tokens"]
    assert len(tokens) == 19539
    assert dataset._wordcount == 227246
    assert dataset.numSentences() == 11855
    assert tokens["the"] == 0 and tokens["UNK"] == 19538
    assert dataset._revtokens[:1] == ["the"] and dataset._tokenfreq["UNK"] == 1
    assert all(w == w.lower() for w in tokens if w != "UNK")


@needs_shared
def test_reject_probabilities(replay: dict) -> None:
    dataset, tokens = replay["dataset"], replay["tokens"]
    reject = dataset.rejectProb()
    assert reject.shape == (19539,)
    assert int(np.sum(reject > 0)) == 7051
    assert reject[tokens["the"]] == pytest.approx(0.98502, abs=5e-6)
    assert reject[tokens["."]] == pytest.approx(0.98572, abs=5e-6)
    assert reject[tokens["UNK"]] == 0


@needs_shared
def test_run_py_rng_replay(replay: dict) -> None:
    assert replay["window"] == 5
    assert replay["center"] == "screenwriter"
    assert len(replay["context"]) == 9
    assert "screenwriter" not in replay["context"]
    allsent = replay["dataset"].allSentences()
    assert len(allsent) == 299303
    assert sum(len(s) for s in allsent) == 1523942


@needs_shared
def test_sample_table_matches_pointer_walk(replay: dict) -> None:
    dataset = replay["dataset"]
    table = dataset.sampleTable()
    assert isinstance(table, list) and len(table) == 1000000 and table[0] == 0
    freq = np.array([dataset._tokenfreq[w] ** 0.75 for w in dataset._revtokens])
    bounds = np.cumsum(freq / np.sum(freq)) * dataset.tablesize
    j, bounds_list = 0, bounds.tolist()
    for i in range(0, dataset.tablesize, 997):  # pointer walk on a sample of entries
        while i > bounds_list[j]:
            j += 1
        assert table[i] == j
    random.seed(0)
    first = dataset.sampleTokenIdx()
    random.seed(0)
    assert first == table[random.randint(0, dataset.tablesize - 1)]


@needs_shared
def test_dataset_split(replay: dict) -> None:
    split = replay["dataset"].dataset_split()
    assert [len(s) for s in split] == [8544, 2210, 1101]
    assert sorted(i for s in split for i in s) == list(range(11855))


def test_get_random_context_order_and_redraw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sentence draw, then position draw; center copies removed; empty contexts redrawn."""
    dataset = StanfordSentiment(str(tmp_path))
    dataset._allsentences = [["x", "x"], ["a", "b", "c", "d", "b"]]
    seq = iter([0, 1, 1, 1])  # sentence 0 pos 1 -> empty context -> redraw sentence 1 pos 1

    def fake_randint(lo: int, hi: int) -> int:
        value = next(seq)
        assert lo <= value <= hi
        return value

    monkeypatch.setattr(random, "randint", fake_randint)
    assert dataset.getRandomContext(1) == ("b", ["a", "c"])


def write_tiny_treebank(folder: Path) -> None:
    """A 3-sentence treebank with dictionary and labels."""
    (folder / "datasetSentences.txt").write_text(
        "sentence_index\tsentence\n1\tGood -LRB- Fun -RRB-\n2\tBad movie\n3\tOk movie .\n", encoding="utf-8")
    (folder / "datasetSplit.txt").write_text(
        "sentence_index,splitset_label\n1,1\n2,2\n3,3\n", encoding="utf-8")
    (folder / "dictionary.txt").write_text(
        "Good ( Fun )|0\nbad movie|1\nok movie .|2\nmovie|3\n", encoding="utf-8")
    (folder / "sentiment_labels.txt").write_text(
        "phrase ids|sentiment values\n0|0.9\n1|0.1\n2|0.5\n3|0.5\n", encoding="utf-8")


def test_labels_and_splits_on_tiny_treebank(tmp_path: Path) -> None:
    write_tiny_treebank(tmp_path)
    dataset = StanfordSentiment(path=str(tmp_path))
    assert dataset.sentences()[0] == ["good", "-lrb-", "fun", "-rrb-"]
    assert dataset.tokens() == {"good": 0, "-lrb-": 1, "fun": 2, "-rrb-": 3,
                                "bad": 4, "movie": 5, "ok": 6, ".": 7, "UNK": 8}
    assert dataset._wordcount == 10
    assert dataset.sent_labels() == [0.9, 0.1, 0.5]
    assert dataset.dataset_split() == [[0], [1], [2]]
    assert dataset.getTrainSentences() == [(["good", "-lrb-", "fun", "-rrb-"], 4)]
    assert dataset.getTestSentences() == [(["bad", "movie"], 0)]
    assert dataset.getDevSentences() == [(["ok", "movie", "."], 2)]
    assert dataset.getRandomTrainSentence() == (["good", "-lrb-", "fun", "-rrb-"], 4)
    assert [dataset.categorify(v) for v in (0.0, 0.2, 0.21, 0.4, 0.6, 0.8, 0.81, 1.0)] == \
        [0, 0, 1, 1, 2, 3, 4, 4]


def test_default_path() -> None:
    assert StanfordSentiment().path == "utils/datasets/stanfordSentimentTreebank"
    assert StanfordSentiment(tablesize=10).tablesize == 10
