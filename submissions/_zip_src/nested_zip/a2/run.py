#!/usr/bin/env python
"""Part (c): train 10-d vectors on the treebank with my sgd + skip-gram/neg-sampling, then plot."""
import random
import sys
import time

import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
import numpy as np

from utils.treebank import StanfordSentiment
from word2vec import skipgram, negSamplingLossAndGradient, word2vec_sgd_wrapper
from sgd import sgd

if sys.version_info < (3, 5):
    sys.exit("needs python 3.5+")

DIM = 10
WINDOW = 5
WORDS_TO_PLOT = ["great", "cool", "brilliant", "wonderful", "well", "amazing", "worth", "sweet",
                 "enjoyable", "boring", "bad", "dumb", "annoying", "female", "male", "queen", "king",
                 "man", "woman", "rain", "snow", "hail", "coffee", "tea"]


def main():
    random.seed(314)
    data = StanfordSentiment()
    word2ind = data.tokens()
    n = len(word2ind)

    random.seed(31415)
    np.random.seed(9265)
    t0 = time.time()
    # center vectors small and random, outside vectors zero
    init = np.vstack([(np.random.rand(n, DIM) - 0.5) / DIM, np.zeros((n, DIM))])
    objective = lambda vecs: word2vec_sgd_wrapper(skipgram, word2ind, vecs, data, WINDOW,
                                                  negSamplingLossAndGradient)
    vectors = sgd(objective, init, 0.3, 40000, None, True, PRINT_EVERY=10)
    print("sanity check: cost at convergence should be around or below 10")
    print("training took %d seconds" % (time.time() - t0))

    pts = vectors[[word2ind[w] for w in WORDS_TO_PLOT], :]
    pts = pts - pts.mean(axis=0)
    cov = pts.T @ pts / len(WORDS_TO_PLOT)
    u, _, _ = np.linalg.svd(cov)
    xy = pts @ u[:, :2]
    for (x, y), word in zip(xy, WORDS_TO_PLOT):
        plt.text(x, y, word, bbox={"facecolor": "green", "alpha": 0.1})
    plt.xlim(xy[:, 0].min(), xy[:, 0].max())
    plt.ylim(xy[:, 1].min(), xy[:, 1].max())
    plt.savefig("word_vectors.png")


if __name__ == "__main__":
    main()
