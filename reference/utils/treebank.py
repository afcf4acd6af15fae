"""Stanford Sentiment Treebank loader of the CS224n a2 starter kit (behaviour-compatible rewrite).

Every method consumes Python's ``random`` exactly like the starter, in the same
order, so seeded training reproduces the starter's numbers.
"""

from __future__ import annotations

import random

import numpy as np

DEFAULT_PATH = "utils/datasets/stanfordSentimentTreebank"
ENCODING = "utf-8"  # the starter uses the locale default; UTF-8 locales decode like this
REPEATS = 30  # allSentences() repeats the corpus this many times
SUBSAMPLE_T = 1e-5  # subsampling threshold as a fraction of the word count


def _read_lines(filename: str, skip_header: bool) -> list[str]:
    """Stripped, non-empty lines of a text file (optionally without its first line)."""
    with open(filename, encoding=ENCODING) as f:
        lines = list(f)
    if skip_header:
        lines = lines[1:]
    return [line.strip() for line in lines if line.strip()]


class StanfordSentiment:
    """Lazy, cached access to the treebank sentences, vocabulary and samplers."""

    def __init__(self, path: str | None = None, tablesize: int = 1000000) -> None:
        self.path = path if path else DEFAULT_PATH
        self.tablesize = tablesize
        self._tokens = None
        self._tokenfreq = None
        self._wordcount = None
        self._revtokens = None
        self._sentences = None
        self._sentlengths = None
        self._cumsentlen = None
        self._rejectProb = None
        self._allsentences = None
        self._sampleTable = None
        self._sent_labels = None
        self._split = None

    def sentences(self) -> list[list[str]]:
        """Lowercased token lists of datasetSentences.txt (header and index field dropped)."""
        if self._sentences is None:
            filename = self.path + "/datasetSentences.txt"
            with open(filename, encoding=ENCODING) as f:
                rows = list(f)[1:]
            self._sentences = [[w.lower() for w in row.strip().split()[1:]] for row in rows]
            self._sentlengths = np.array([len(s) for s in self._sentences])
            self._cumsentlen = np.cumsum(self._sentlengths)
        return self._sentences

    def numSentences(self) -> int:
        """Number of sentences (11,855 on the shipped data)."""
        return len(self.sentences())

    def tokens(self) -> dict[str, int]:
        """word -> id in first-occurrence order, with "UNK" last (frequency 1)."""
        if self._tokens is None:
            tokens: dict[str, int] = {}
            freq: dict[str, int] = {}
            wordcount = 0
            for sentence in self.sentences():
                for w in sentence:
                    tokens.setdefault(w, len(tokens))
                    freq[w] = freq.get(w, 0) + 1
                    wordcount += 1
            tokens["UNK"] = len(tokens)
            freq["UNK"] = 1
            self._tokens = tokens
            self._tokenfreq = freq
            self._wordcount = wordcount + 1
            self._revtokens = list(tokens)
        return self._tokens

    def rejectProb(self) -> np.ndarray:
        """(V,) subsampling probabilities max(0, 1 - sqrt(1e-5 * wordcount / freq))."""
        if self._rejectProb is None:
            self.tokens()  # the starter requires tokens() to have run; no RNG use
            threshold = SUBSAMPLE_T * self._wordcount
            freqs = np.array([float(self._tokenfreq[w]) for w in self._revtokens])
            self._rejectProb = np.maximum(0, 1 - np.sqrt(threshold / freqs))
        return self._rejectProb

    def allSentences(self) -> list[list[str]]:
        """Corpus repeated 30 times, subsampled (one random.random() per word
        with positive reject probability, in order); sentences of <= 1 word dropped."""
        if self._allsentences is None:
            reject = self.rejectProb()
            tokens = self.tokens()
            kept = [[w for w in s if reject[tokens[w]] <= 0 or random.random() >= reject[tokens[w]]]
                    for s in self.sentences() * REPEATS]
            self._allsentences = [s for s in kept if len(s) > 1]
        return self._allsentences

    def getRandomContext(self, C: int = 5) -> tuple[str, list[str]]:
        """(center word, context words) from a random subsampled sentence.

        Draws a sentence, then a position; the context is up to C words on
        each side with every copy of the center word removed. Redraws while
        the context is empty.
        """
        allsent = self.allSentences()
        while True:
            sent = allsent[random.randint(0, len(allsent) - 1)]
            pos = random.randint(0, len(sent) - 1)
            center = sent[pos]
            context = sent[max(0, pos - C):pos] + sent[pos + 1:pos + C + 1]
            context = [w for w in context if w != center]
            if context:
                return center, context

    def sampleTable(self) -> list[int]:
        """Negative-sampling table (list of ``tablesize`` token ids, unigram^0.75).

        Entry i is the smallest id j with i <= tablesize * cumsum(p)[j].
        Calls allSentences() first (which may consume RNG), like the starter.
        """
        if self._sampleTable is None:
            n_tokens = len(self.tokens())
            self.allSentences()
            weights = np.array([float(self._tokenfreq.get(self._revtokens[i], 0.0)) ** 0.75
                                for i in range(n_tokens)])
            weights /= np.sum(weights)
            bounds = np.cumsum(weights) * self.tablesize
            table = np.searchsorted(bounds, np.arange(self.tablesize), side="left")
            self._sampleTable = table.tolist()
        return self._sampleTable

    def sampleTokenIdx(self) -> int:
        """One negative sample: the table entry at random.randint(0, tablesize - 1)."""
        table = self.sampleTable()
        return table[random.randint(0, self.tablesize - 1)]

    def sent_labels(self) -> list[float]:
        """Sentiment value in [0, 1] of every sentence (needs dictionary.txt)."""
        if self._sent_labels is None:
            phrase_ids = {}
            for line in _read_lines(self.path + "/dictionary.txt", skip_header=False):
                fields = line.split("|")
                phrase_ids[fields[0].lower()] = int(fields[1])
            values = {}
            for line in _read_lines(self.path + "/sentiment_labels.txt", skip_header=True):
                fields = line.split("|")
                values[int(fields[0])] = float(fields[1])
            self._sent_labels = [values[phrase_ids[_phrase(s)]] for s in self.sentences()]
        return self._sent_labels

    def dataset_split(self) -> list[list[int]]:
        """[train, test, dev] lists of 0-based sentence indices from datasetSplit.txt."""
        if self._split is None:
            split: list[list[int]] = [[], [], []]
            for line in _read_lines(self.path + "/datasetSplit.txt", skip_header=True):
                idx, label = line.split(",")
                split[int(label) - 1].append(int(idx) - 1)
            self._split = split
        return self._split

    def getRandomTrainSentence(self) -> tuple[list[str], int]:
        """A random training sentence and its class (one random.randint)."""
        train = self.dataset_split()[0]
        sent_id = train[random.randint(0, len(train) - 1)]
        return self.sentences()[sent_id], self.categorify(self.sent_labels()[sent_id])

    def categorify(self, label: float) -> int:
        """Map a sentiment value to a class 0..4 (cut-offs 0.2, 0.4, 0.6, 0.8)."""
        for cls, cutoff in enumerate((0.2, 0.4, 0.6, 0.8)):
            if label <= cutoff:
                return cls
        return 4

    def getTrainSentences(self) -> list[tuple[list[str], int]]:
        """(tokens, class) pairs of the training split."""
        return self.getSplitSentences(0)

    def getTestSentences(self) -> list[tuple[list[str], int]]:
        """(tokens, class) pairs of the test split."""
        return self.getSplitSentences(1)

    def getDevSentences(self) -> list[tuple[list[str], int]]:
        """(tokens, class) pairs of the dev split."""
        return self.getSplitSentences(2)

    def getSplitSentences(self, split: int = 0) -> list[tuple[list[str], int]]:
        """(tokens, class) pairs of split 0 (train), 1 (test) or 2 (dev)."""
        ids = self.dataset_split()[split]
        sentences = self.sentences()
        labels = self.sent_labels()
        return [(sentences[i], self.categorify(labels[i])) for i in ids]


def _phrase(tokens: list[str]) -> str:
    """Dictionary key of a sentence: tokens joined by spaces, -lrb-/-rrb- as brackets."""
    return " ".join(tokens).replace("-lrb-", "(").replace("-rrb-", ")")
