#!/usr/bin/env python
# my copy of the helpers (I added a check while debugging)
import numpy as np


def normalizeRows(x):
    """ Row normalization function: each row of x gets unit length """
    N = x.shape[0]
    x /= np.sqrt(np.sum(x**2, axis=1)).reshape((N, 1)) + 1e-30
    return x


def softmax(x):
    """ softmax of a vector or of every row of a matrix """
    assert np.all(np.isfinite(x)), "softmax got inf/nan!"
    orig_shape = x.shape
    if len(x.shape) > 1:
        x = x - np.max(x, axis=1, keepdims=True)
        x = np.exp(x)
        x = x / np.sum(x, axis=1, keepdims=True)
    else:
        x = x - np.max(x)
        x = np.exp(x)
        x = x / np.sum(x)
    assert x.shape == orig_shape
    return x
