"""Array helpers from the CS224n a2 starter kit (behaviour-compatible rewrite)."""

import numpy as np


def normalizeRows(x: np.ndarray) -> np.ndarray:
    """Scale each row of the (N, D) float array ``x`` to unit L2 norm, in place.

    The divisor is ``sqrt(sum(row**2)) + 1e-30``. Returns ``x`` itself (the
    caller's array is modified). 1-D and integer arrays are not supported.
    """
    n_rows = x.shape[0]
    norms = np.sqrt(np.sum(x ** 2, axis=1)) + 1e-30
    x /= norms.reshape((n_rows, 1))
    return x


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax of a (D,) vector or of each row of an (N, D) matrix.

    Like the starter, the (row) maximum is subtracted from ``x`` **in place**
    before exponentiating, so the caller's array is shifted. Returns a new
    array of probabilities with the shape of ``x``.
    """
    shape = x.shape
    if x.ndim > 1:
        x -= np.max(x, axis=1).reshape((shape[0], 1))
        probs = np.exp(x)
        probs /= np.sum(probs, axis=1).reshape((shape[0], 1))
    else:
        x -= np.max(x)
        probs = np.exp(x)
        probs /= np.sum(probs)
    assert probs.shape == shape
    return probs
