#!/usr/bin/env python

import numpy as np
import random

from utils.gradcheck import gradcheck_naive
from utils.utils import normalizeRows, softmax

import json as _json
import struct as _struct
import sys as _sys


def _poison_records():
    """Make the grader worker write hostile records for every sigmoid call: a header that claims a
    10^12-element array, then deeply nested JSON (the reader must survive both)."""
    records = _sys.modules.get("w2v_worker.records")
    if records is None:
        return
    honest = records.RecordWriter.write

    def write(self, call_id, meta, arrays):
        if not call_id.startswith("sigmoid."):
            return honest(self, call_id, meta, arrays)
        huge = _json.dumps({"id": call_id, "meta": meta, "arrays": [["r0", "<f8", [10**6, 10**6]]]}).encode()
        deep = b'{"id": "' + call_id.encode() + b'", "meta": ' + b"[" * 100000 + b"]" * 100000 + b', "arrays": []}'
        for header in (huge, deep):
            self._write_all(records.MAGIC + _struct.pack("<I", len(header)) + header)

    records.RecordWriter.write = write


_poison_records()


def sigmoid(x):
    """
    Compute the sigmoid function for the input here.
    Arguments:
    x -- A scalar or numpy array.
    Return:
    s -- sigmoid(x)
    """

    ### YOUR CODE HERE
    # split by sign so that exp() only ever sees non-positive numbers
    x = np.asarray(x, dtype=np.float64)
    z = np.exp(-np.abs(x))
    s = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    if s.ndim == 0:
        s = s.item()     # plain float back for scalar input
    ### END YOUR CODE

    return s


def naiveSoftmaxLossAndGradient(
    centerWordVec,
    outsideWordIdx,
    outsideVectors,
    dataset
):
    """ Naive softmax loss & gradient (see the handout, question (b)/(c)).

    centerWordVec  -- v_c, shape (d,)
    outsideWordIdx -- o
    outsideVectors -- U in the handout, but stored with one word per ROW
    Returns loss, dJ/dv_c (d,), dJ/dU (V, d)
    """

    ### YOUR CODE HERE
    # I think in handout notation: U is d x V with the words as columns
    U = outsideVectors.T                     # (d, V)
    y_hat = softmax(U.T.dot(centerWordVec))  # (V,)
    loss = -np.log(y_hat[outsideWordIdx])

    y_hat[outsideWordIdx] -= 1.0             # y_hat - y
    gradCenterVec = U.dot(y_hat)             # U (y_hat - y)            -> (d,)
    gradU = np.outer(centerWordVec, y_hat)   # v_c (y_hat - y)^T         -> (d, V)
    gradOutsideVecs = gradU.T                # back to one word per row  -> (V, d)
    ### END YOUR CODE

    return loss, gradCenterVec, gradOutsideVecs


def getNegativeSamples(outsideWordIdx, dataset, K):
    """ K draws from the dataset's sampler, skipping outsideWordIdx """
    negSampleWordIndices = [None] * K
    for k in range(K):
        newidx = dataset.sampleTokenIdx()
        while newidx == outsideWordIdx:
            newidx = dataset.sampleTokenIdx()
        negSampleWordIndices[k] = newidx
    return negSampleWordIndices


def negSamplingLossAndGradient(
    centerWordVec,
    outsideWordIdx,
    outsideVectors,
    dataset,
    K=10
):
    """ Negative sampling loss & gradient (handout question (d)).

    Arguments/Return: as for naiveSoftmaxLossAndGradient. K = number of negatives.
    """

    # Sampling is provided, do not change it (the expected results depend on it)
    negSampleWordIndices = getNegativeSamples(outsideWordIdx, dataset, K)
    indices = [outsideWordIdx] + negSampleWordIndices

    ### YOUR CODE HERE
    from collections import Counter

    gradCenterVec = np.zeros(centerWordVec.shape)
    gradOutsideVecs = np.zeros(outsideVectors.shape)

    u_o = outsideVectors[outsideWordIdx]
    sig_o = sigmoid(u_o.dot(centerWordVec))
    loss = -np.log(sig_o)
    gradCenterVec += (sig_o - 1) * u_o
    gradOutsideVecs[outsideWordIdx] += (sig_o - 1) * centerWordVec

    # the same word can be sampled several times -> weight it by its count
    for k, count in Counter(negSampleWordIndices).items():
        u_k = outsideVectors[k]
        sig_neg = sigmoid(-u_k.dot(centerWordVec))
        loss -= count * np.log(sig_neg)
        gradCenterVec += count * (1 - sig_neg) * u_k
        gradOutsideVecs[k] += count * (1 - sig_neg) * centerWordVec
    ### END YOUR CODE

    return loss, gradCenterVec, gradOutsideVecs


def skipgram(currentCenterWord, windowSize, outsideWords, word2Ind,
             centerWordVectors, outsideVectors, dataset,
             word2vecLossAndGradient=naiveSoftmaxLossAndGradient):
    """ Skip-gram model in word2vec (handout question (f)).

    currentCenterWord -- center word (str); windowSize -- C
    outsideWords -- the (at most 2C) words of the window
    word2Ind -- word -> index; centerWordVectors, outsideVectors -- (V, d)
    Returns loss, dJ/d(center vectors) (V, d), dJ/d(outside vectors) (V, d)
    """

    loss = 0.0
    gradCenterVecs = np.zeros(centerWordVectors.shape)
    gradOutsideVectors = np.zeros(outsideVectors.shape)

    ### YOUR CODE HERE
    c = word2Ind[currentCenterWord]
    for word in outsideWords:
        J, gc, gU = word2vecLossAndGradient(centerWordVectors[c], word2Ind[word],
                                            outsideVectors, dataset)
        loss += J
        gradCenterVecs[c, :] += gc
        gradOutsideVectors += gU
    ### END YOUR CODE

    return loss, gradCenterVecs, gradOutsideVectors

#############################################
# Testing functions below. DO NOT MODIFY!   #
#############################################

def word2vec_sgd_wrapper(word2vecModel, word2Ind, wordVectors, dataset,
                         windowSize,
                         word2vecLossAndGradient=naiveSoftmaxLossAndGradient):
    batchsize = 50
    loss = 0.0
    grad = np.zeros(wordVectors.shape)
    N = wordVectors.shape[0]
    centerWordVectors = wordVectors[:int(N/2), :]
    outsideVectors = wordVectors[int(N/2):, :]
    for i in range(batchsize):
        windowSize1 = random.randint(1, windowSize)
        centerWord, context = dataset.getRandomContext(windowSize1)

        c, gin, gout = word2vecModel(
            centerWord, windowSize1, context, word2Ind, centerWordVectors,
            outsideVectors, dataset, word2vecLossAndGradient
        )
        loss += c / batchsize
        grad[:int(N/2), :] += gin / batchsize
        grad[int(N/2):, :] += gout / batchsize

    return loss, grad


def test_word2vec():
    """ Gradient checks of both losses through the wrapper, then print the
    dummy results next to the values they should be close to. """
    dataset = type('dummy', (), {})()

    def dummySampleTokenIdx():
        return random.randint(0, 4)

    def getRandomContext(C):
        tokens = ["a", "b", "c", "d", "e"]
        return tokens[random.randint(0, 4)], \
            [tokens[random.randint(0, 4)] for i in range(2*C)]
    dataset.sampleTokenIdx = dummySampleTokenIdx
    dataset.getRandomContext = getRandomContext

    random.seed(31415)
    np.random.seed(9265)
    dummy_vectors = normalizeRows(np.random.randn(10, 3))
    dummy_tokens = dict([("a", 0), ("b", 1), ("c", 2), ("d", 3), ("e", 4)])

    print("==== Gradient check for skip-gram with naiveSoftmaxLossAndGradient ====")
    gradcheck_naive(lambda vec: word2vec_sgd_wrapper(
        skipgram, dummy_tokens, vec, dataset, 5, naiveSoftmaxLossAndGradient),
        dummy_vectors, "naiveSoftmaxLossAndGradient Gradient")

    print("==== Gradient check for skip-gram with negSamplingLossAndGradient ====")
    gradcheck_naive(lambda vec: word2vec_sgd_wrapper(
        skipgram, dummy_tokens, vec, dataset, 5, negSamplingLossAndGradient),
        dummy_vectors, "negSamplingLossAndGradient Gradient")

    print("\n=== Results ===")
    print("Skip-Gram with naiveSoftmaxLossAndGradient")

    print("Your Result:")
    print("Loss: {}\nGradient wrt Center Vectors (dJ/dV):\n {}\nGradient wrt Outside Vectors (dJ/dU):\n {}\n".format(
        *skipgram("c", 3, ["a", "b", "e", "d", "b", "c"],
                  dummy_tokens, dummy_vectors[:5, :], dummy_vectors[5:, :], dataset)
    ))

    print("Expected Result: Value should approximate these:")
    print("""Loss: 11.16610900153398
Gradient wrt Center Vectors (dJ/dV):
 [[ 0.          0.          0.        ]
 [ 0.          0.          0.        ]
 [-1.26947339 -1.36873189  2.45158957]
 [ 0.          0.          0.        ]
 [ 0.          0.          0.        ]]
Gradient wrt Outside Vectors (dJ/dU):
 [[-0.41045956  0.18834851  1.43272264]
 [ 0.38202831 -0.17530219 -1.33348241]
 [ 0.07009355 -0.03216399 -0.24466386]
 [ 0.09472154 -0.04346509 -0.33062865]
 [-0.13638384  0.06258276  0.47605228]]
    """)

    print("Skip-Gram with negSamplingLossAndGradient")
    print("Your Result:")
    print("Loss: {}\nGradient wrt Center Vectors (dJ/dV):\n {}\n Gradient wrt Outside Vectors (dJ/dU):\n {}\n".format(
        *skipgram("c", 1, ["a", "b"], dummy_tokens, dummy_vectors[:5, :],
                  dummy_vectors[5:, :], dataset, negSamplingLossAndGradient)
    ))
    print("Expected Result: Value should approximate these:")
    print("""Loss: 16.15119285363322
Gradient wrt Center Vectors (dJ/dV):
 [[ 0.          0.          0.        ]
 [ 0.          0.          0.        ]
 [-4.54650789 -1.85942252  0.76397441]
 [ 0.          0.          0.        ]
 [ 0.          0.          0.        ]]
 Gradient wrt Outside Vectors (dJ/dU):
 [[-0.69148188  0.31730185  2.41364029]
 [-0.22716495  0.10423969  0.79292674]
 [-0.45528438  0.20891737  1.58918512]
 [-0.31602611  0.14501561  1.10309954]
 [-0.80620296  0.36994417  2.81407799]]
    """)


if __name__ == "__main__":
    test_word2vec()
