#!/usr/bin/env python

import argparse
import numpy as np
import random

from utils.gradcheck import gradcheck_naive, grad_tests_softmax, grad_tests_negsamp
from utils.utils import normalizeRows, softmax


def sigmoid(x):
    """
    Logistic function applied to x.
    Arguments:
    x -- scalar or numpy array of any shape
    Return:
    s -- 1 / (1 + e^-x), with the shape of x
    """

    ### YOUR CODE HERE (~1 Line)
    s = np.reciprocal(1 + np.exp(-x))
    ### END YOUR CODE

    return s


def naiveSoftmaxLossAndGradient(
    centerWordVec,
    outsideWordIdx,
    outsideVectors,
    dataset
):
    """ Softmax (full vocabulary) loss of one center/outside pair, with gradients.

    Arguments:
    centerWordVec -- (d,) array: embedding of the center word (v_c in the handout)
    outsideWordIdx -- int: index of the outside word (the o of u_o)
    outsideVectors -- (V, d) array: one outside vector per row, i.e. U transposed
    dataset -- only used by negative sampling; ignored here

    Return:
    loss -- scalar, -log P(o | c)
    gradCenterVec -- (d,) array, dJ/dv_c
    gradOutsideVecs -- (V, d) array, dJ/dU (row w is the gradient for u_w)
    """

    ### YOUR CODE HERE (~6-8 Lines)
    scores = np.einsum('vd,d->v', outsideVectors, centerWordVec)
    probs = softmax(scores)
    # fancy index with a list keeps a length-1 array, which is fine for the loss
    loss = -np.log(probs[[outsideWordIdx]])

    err = probs.copy()
    err[outsideWordIdx] -= 1                                      # y_hat - y
    weighted = outsideVectors * err[:, None]                      # a V×d temporary, then summed
    gradCenterVec = weighted.sum(axis=0)
    gradOutsideVecs = np.tile(centerWordVec, (len(err), 1))       # another V×d, scaled in place
    gradOutsideVecs *= err[:, None]
    ### END YOUR CODE

    return loss, gradCenterVec, gradOutsideVecs


def getNegativeSamples(outsideWordIdx, dataset, K):
    """ Draw K word indices from the dataset's sampler, never outsideWordIdx itself
    (the same index may come back several times). """

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
    """ Negative sampling loss of one center/outside pair, with gradients.

    K negative words are drawn with getNegativeSamples. A word can be drawn
    more than once, and then each draw counts in the loss and the gradient.

    Arguments and return values: as in naiveSoftmaxLossAndGradient.
    """

    # The sampling is given; keep it as it is so the draws match the tests.
    negSampleWordIndices = getNegativeSamples(outsideWordIdx, dataset, K)
    indices = [outsideWordIdx] + negSampleWordIndices

    ### YOUR CODE HERE (~10 Lines)
    U = outsideVectors[indices]                                   # (K+1, d)
    sign = np.array([1.0] + [-1.0] * K)
    z = sign * np.einsum('kd,d->k', U, centerWordVec)
    sig = sigmoid(z)
    loss = -np.log(sig[:1]) - np.sum(np.log(sig[1:]))            # length-1 array

    coef = sign * (sig - 1)
    gradCenterVec = np.einsum('k,kd->d', coef, U)
    gradOutsideVecs = np.zeros_like(outsideVectors)
    # accumulate the negated terms, then negate the whole matrix once (every page written twice)
    np.add.at(gradOutsideVecs, indices, -np.einsum('k,d->kd', coef, centerWordVec))
    gradOutsideVecs = -gradOutsideVecs
    ### END YOUR CODE

    return loss, gradCenterVec, gradOutsideVecs


def skipgram(currentCenterWord, windowSize, outsideWords, word2Ind,
             centerWordVectors, outsideVectors, dataset,
             word2vecLossAndGradient=naiveSoftmaxLossAndGradient):
    """ Skip-gram: loss of one center word against every word of its window.

    Arguments:
    currentCenterWord -- str, the center word
    windowSize -- int, the window size C
    outsideWords -- list of at most 2C str, the words around the center word
    word2Ind -- dict word -> row index
    centerWordVectors -- (V, d) array of center vectors (one per row)
    outsideVectors -- (V, d) array of outside vectors (one per row)
    dataset -- passed through to the loss function
    word2vecLossAndGradient -- one of the two loss functions above

    Return:
    loss -- sum of the pairwise losses
    gradCenterVecs -- (V, d) gradient wrt all center vectors
    gradOutsideVectors -- (V, d) gradient wrt all outside vectors
    """

    loss = 0.0
    gradCenterVecs = np.zeros(centerWordVectors.shape)
    gradOutsideVectors = np.zeros(outsideVectors.shape)

    ### YOUR CODE HERE (~8 Lines)
    c = word2Ind[currentCenterWord]
    results = [word2vecLossAndGradient(centerWordVectors[c], word2Ind[w], outsideVectors, dataset)
               for w in outsideWords]
    if results:
        loss = loss + sum(r[0] for r in results)
        gradCenterVecs[c] = np.sum(np.stack([r[1] for r in results]), axis=0)
        gradOutsideVectors = np.sum(np.stack([r[2] for r in results]), axis=0)   # (2m, V, d) stacked
    ### END YOUR CODE

    return loss, gradCenterVecs, gradOutsideVectors


#############################################
# Testing functions below. DO NOT MODIFY!   #
#############################################

def word2vec_sgd_wrapper(word2vecModel, word2Ind, wordVectors, dataset,
                         windowSize,
                         word2vecLossAndGradient=naiveSoftmaxLossAndGradient):
    # a minibatch of 50 random windows; top half of wordVectors = center
    # vectors, bottom half = outside vectors
    batchsize = 50
    loss = 0.0
    grad = np.zeros(wordVectors.shape)
    N = wordVectors.shape[0]
    centerWordVectors = wordVectors[:int(N / 2), :]
    outsideVectors = wordVectors[int(N / 2):, :]
    for i in range(batchsize):
        windowSize1 = random.randint(1, windowSize)
        centerWord, context = dataset.getRandomContext(windowSize1)

        c, gin, gout = word2vecModel(
            centerWord, windowSize1, context, word2Ind, centerWordVectors,
            outsideVectors, dataset, word2vecLossAndGradient
        )
        loss += c / batchsize
        grad[:int(N / 2), :] += gin / batchsize
        grad[int(N / 2):, :] += gout / batchsize

    return loss, grad


def test_sigmoid():
    """ sigmoid on a few known values """
    print("=== Sanity check for sigmoid ===")
    assert sigmoid(0) == 0.5
    assert np.allclose(sigmoid(np.array([0])), np.array([0.5]))
    assert np.allclose(sigmoid(np.array([1, 2, 3])), np.array([0.73105858, 0.88079708, 0.95257413]))
    print("Tests for sigmoid passed!")


def getDummyObjects():
    """ A 5-word toy dataset and 10 random unit vectors, for the tests below """

    def dummySampleTokenIdx():
        return random.randint(0, 4)

    def getRandomContext(C):
        tokens = ["a", "b", "c", "d", "e"]
        center = tokens[random.randint(0, 4)]
        context = [tokens[random.randint(0, 4)] for _ in range(2 * C)]
        return center, context

    dataset = type('dummy', (), {})()
    dataset.sampleTokenIdx = dummySampleTokenIdx
    dataset.getRandomContext = getRandomContext

    random.seed(31415)
    np.random.seed(9265)
    dummy_vectors = normalizeRows(np.random.randn(10, 3))
    dummy_tokens = {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}

    return dataset, dummy_vectors, dummy_tokens


def test_naiveSoftmaxLossAndGradient():
    """ gradient checks of naiveSoftmaxLossAndGradient """
    dataset, dummy_vectors, dummy_tokens = getDummyObjects()

    print("==== Gradient check for naiveSoftmaxLossAndGradient ====")

    def wrt_center(vec):
        loss, gradCenterVec, gradOutsideVecs = naiveSoftmaxLossAndGradient(vec, 1, dummy_vectors, dataset)
        return loss, gradCenterVec
    gradcheck_naive(wrt_center, np.random.randn(3), "naiveSoftmaxLossAndGradient gradCenterVec")

    centerVec = np.random.randn(3)

    def wrt_outside(vec):
        loss, gradCenterVec, gradOutsideVecs = naiveSoftmaxLossAndGradient(centerVec, 1, vec, dataset)
        return loss, gradOutsideVecs
    gradcheck_naive(wrt_outside, dummy_vectors, "naiveSoftmaxLossAndGradient gradOutsideVecs")


def test_negSamplingLossAndGradient():
    """ gradient checks of negSamplingLossAndGradient """
    dataset, dummy_vectors, dummy_tokens = getDummyObjects()

    print("==== Gradient check for negSamplingLossAndGradient ====")

    def wrt_center(vec):
        loss, gradCenterVec, gradOutsideVecs = negSamplingLossAndGradient(vec, 1, dummy_vectors, dataset)
        return loss, gradCenterVec
    gradcheck_naive(wrt_center, np.random.randn(3), "negSamplingLossAndGradient gradCenterVec")

    centerVec = np.random.randn(3)

    def wrt_outside(vec):
        loss, gradCenterVec, gradOutsideVecs = negSamplingLossAndGradient(centerVec, 1, vec, dataset)
        return loss, gradOutsideVecs
    gradcheck_naive(wrt_outside, dummy_vectors, "negSamplingLossAndGradient gradOutsideVecs")


def test_skipgram():
    """ skip-gram with both losses: gradient checks, then the fixed expected values """
    dataset, dummy_vectors, dummy_tokens = getDummyObjects()

    print("==== Gradient check for skip-gram with naiveSoftmaxLossAndGradient ====")
    gradcheck_naive(lambda vec: word2vec_sgd_wrapper(
        skipgram, dummy_tokens, vec, dataset, 5, naiveSoftmaxLossAndGradient),
        dummy_vectors, "naiveSoftmaxLossAndGradient Gradient")
    grad_tests_softmax(skipgram, dummy_tokens, dummy_vectors, dataset)

    print("==== Gradient check for skip-gram with negSamplingLossAndGradient ====")
    gradcheck_naive(lambda vec: word2vec_sgd_wrapper(
        skipgram, dummy_tokens, vec, dataset, 5, negSamplingLossAndGradient),
        dummy_vectors, "negSamplingLossAndGradient Gradient")
    grad_tests_negsamp(skipgram, dummy_tokens, dummy_vectors, dataset, negSamplingLossAndGradient)


def test_word2vec():
    """ all of the above, in order """
    test_sigmoid()
    test_naiveSoftmaxLossAndGradient()
    test_negSamplingLossAndGradient()
    test_skipgram()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description='Run the word2vec checks.')
    parser.add_argument('function', nargs='?', type=str, default='all',
                        help='which function to check (default: all)')

    args = parser.parse_args()
    if args.function == 'sigmoid':
        test_sigmoid()
    elif args.function == 'naiveSoftmaxLossAndGradient':
        test_naiveSoftmaxLossAndGradient()
    elif args.function == 'negSamplingLossAndGradient':
        test_negSamplingLossAndGradient()
    elif args.function == 'skipgram':
        test_skipgram()
    elif args.function == 'all':
        test_word2vec()
