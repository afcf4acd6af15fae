#!/usr/bin/env python
"""Reference equivalent of CS224n a2 run.py: train word vectors on the treebank and plot them.

Same seeds, call order and settings as the starter's run.py (dim 10, window
5, step 0.3, negative sampling, postprocessing None, useSaved True,
PRINT_EVERY 10), plus options for the dataset path, the number of
iterations, the working directory (saved_params_*, word_vectors.png) and
skipping the plot. Import ``train`` to call it programmatically.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Sequence

import numpy as np

# isort: split
from sgd import sgd
from utils.treebank import DEFAULT_PATH, StanfordSentiment
from word2vec import negSamplingLossAndGradient, skipgram, word2vec_sgd_wrapper

DIM_VECTORS = 10
CONTEXT_SIZE = 5
STEP = 0.3
ITERATIONS = 40000
VISUALIZE_WORDS = [
    "great", "cool", "brilliant", "wonderful", "well", "amazing",
    "worth", "sweet", "enjoyable", "boring", "bad", "dumb",
    "annoying", "female", "male", "queen", "king", "man", "woman", "rain", "snow",
    "hail", "coffee", "tea"]


def train(dataset_path: str = DEFAULT_PATH, iterations: int = ITERATIONS,
          workdir: str = ".", plot: bool = True) -> np.ndarray:
    """Run run.py's training and return the (2V, 10) word vectors (center rows first).

    dataset_path is resolved against the current directory; saved_params_*,
    saved_state_* (resumed from if present) and word_vectors.png go to
    ``workdir``, which is the CWD during training (restored afterwards).
    """
    dataset_path = os.path.abspath(dataset_path)
    previous_cwd = os.getcwd()
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)
    try:
        return _train_here(dataset_path, iterations, plot)
    finally:
        os.chdir(previous_cwd)


def _train_here(dataset_path: str, iterations: int, plot: bool) -> np.ndarray:
    """run.py's body, with the CWD already set to the work directory."""
    random.seed(314)
    dataset = StanfordSentiment(dataset_path)
    tokens = dataset.tokens()
    nWords = len(tokens)

    random.seed(31415)
    np.random.seed(9265)
    startTime = time.time()
    wordVectors = np.concatenate(
        ((np.random.rand(nWords, DIM_VECTORS) - 0.5) / DIM_VECTORS,
         np.zeros((nWords, DIM_VECTORS))),
        axis=0)
    wordVectors = sgd(
        lambda vec: word2vec_sgd_wrapper(skipgram, tokens, vec, dataset, CONTEXT_SIZE,
                                         negSamplingLossAndGradient),
        wordVectors, STEP, iterations, None, True, PRINT_EVERY=10)
    # Note that normalization is not called here. This is not a bug,
    # normalizing during training loses the notion of length.

    print("sanity check: cost at convergence should be around or below 10")
    print(f"training took {int(time.time() - startTime):d} seconds")

    # concatenate the input and output word vectors (a no-op, as in run.py)
    wordVectors = np.concatenate((wordVectors[:nWords, :], wordVectors[nWords:, :]), axis=0)
    if plot:
        plot_word_vectors(wordVectors, tokens, "word_vectors.png")
    return wordVectors


def plot_word_vectors(wordVectors: np.ndarray, tokens: dict, filename: str) -> None:
    """Save run.py's 2-D SVD projection of the 24 VISUALIZE_WORDS (center vectors)."""
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    visualizeIdx = [tokens[word] for word in VISUALIZE_WORDS]
    visualizeVecs = wordVectors[visualizeIdx, :]
    temp = visualizeVecs - np.mean(visualizeVecs, axis=0)
    covariance = 1.0 / len(visualizeIdx) * temp.T.dot(temp)
    U, _, _ = np.linalg.svd(covariance)
    coord = temp.dot(U[:, 0:2])

    fig = plt.figure()
    for i, word in enumerate(VISUALIZE_WORDS):
        plt.text(coord[i, 0], coord[i, 1], word, bbox={"facecolor": "green", "alpha": 0.1})
    plt.xlim((np.min(coord[:, 0]), np.max(coord[:, 0])))
    plt.ylim((np.min(coord[:, 1]), np.max(coord[:, 1])))
    plt.savefig(filename)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> None:
    """CLI entry point (see module docstring)."""
    assert sys.version_info >= (3, 5)
    parser = argparse.ArgumentParser(description="Train word2vec on the Stanford Sentiment Treebank.")
    parser.add_argument("--dataset", default=DEFAULT_PATH, help="treebank folder (default: %(default)s)")
    parser.add_argument("--iterations", type=int, default=ITERATIONS, help="SGD iterations (default: %(default)s)")
    parser.add_argument("--workdir", default=".", help="where saved_params_* and the plot go (default: CWD)")
    parser.add_argument("--no-plot", action="store_true", help="do not write word_vectors.png")
    args = parser.parse_args(argv)
    train(args.dataset, args.iterations, args.workdir, plot=not args.no_plot)


if __name__ == "__main__":
    main()
