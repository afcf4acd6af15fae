"""Speed calibration workload of the student self-check kit (NOT a solution; it computes nothing useful).

The kit does not contain the reference solution, so it cannot time a
student's function against it.  Instead it times this module, which
defines the assignment's function names with a generic numpy workload that
reads every input array (element-wise maths and reductions of the same
sizes).  When the kit is built, the reference is timed against this very
workload on the instructor's machine, giving a reference/calibration CPU
ratio per timed call; on the student's machine, student/calibration × that
ratio estimates student/reference.  Machine speed cancels out.
"""

import numpy as np


def _touch(*args):
    total = 0.0
    for value in args:
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            total += float(np.sum(np.sqrt(np.abs(value) + 1.0)))
    return total


def sigmoid(x):
    return _touch(x)


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    return _touch(centerWordVec, outsideVectors)


def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    return _touch(centerWordVec, outsideVectors)


def skipgram(currentCenterWord, windowSize, outsideWords, word2Ind, centerWordVectors, outsideVectors,
             dataset, word2vecLossAndGradient=None):
    return sum(_touch(outsideVectors) for _ in outsideWords[:2]) + _touch(centerWordVectors[:1])
