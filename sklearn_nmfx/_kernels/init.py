"""Starting points for NMF: random, NNDSVD and its variants, as scikit-learn computes them.

Everything here runs in NumPy on the CPU, from the same ``random_state``, so every
backend starts from the same W and H (the estimator moves them to its device).
"""

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.extmath import randomized_svd

INIT_METHODS = ("random", "nndsvd", "nndsvda", "nndsvdar", "custom")


def resolve_init(init, n_components, n_samples, n_features):
    """The init method to use: scikit-learn's default is 'nndsvda' when it applies."""
    if init is None:
        return "nndsvda" if n_components <= min(n_samples, n_features) else "random"
    if init in ("nndsvd", "nndsvda", "nndsvdar") and n_components > min(n_samples, n_features):
        raise ValueError(
            f"init={init!r} can only be used when n_components <= min(n_samples, "
            f"n_features) = {min(n_samples, n_features)}; got n_components="
            f"{n_components}. Use init='random' or fewer components."
        )
    return init


def _mean(X):
    return float(X.mean()) if X.size else 0.0


def initialize_factors(X, n_components, init, random_state, eps=1e-6):
    """Initial W (n_samples, n_components) and H (n_components, n_features).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Non-negative data, missing entries set to zero.
    n_components : int
    init : {'random', 'nndsvd', 'nndsvda', 'nndsvdar'}
        As in :class:`sklearn.decomposition.NMF`, with identical results for the
        same ``random_state``.
    random_state : int, RandomState instance or None
    eps : float, default=1e-6
        NNDSVD entries below ``eps`` are set to zero (then filled for 'a'/'ar'); below
        ``X.max()`` when X is smaller than ``eps`` (scikit-learn's absolute
        threshold would zero the whole start there).

    Returns
    -------
    W, H : ndarray
        Of X's dtype.
    """
    n_samples, n_features = X.shape
    dtype = X.dtype
    if init == "random":
        avg = np.sqrt(_mean(X) / n_components)
        rng = check_random_state(random_state)
        H = avg * rng.standard_normal(size=(n_components, n_features)).astype(dtype, copy=False)
        W = avg * rng.standard_normal(size=(n_samples, n_components)).astype(dtype, copy=False)
        np.abs(H, out=H)
        np.abs(W, out=W)
        return W.astype(dtype, copy=False), H.astype(dtype, copy=False)

    U, S, V = randomized_svd(X, n_components, random_state=random_state)
    W = np.zeros_like(U)
    H = np.zeros_like(V)
    # the leading singular pair of a non-negative matrix is non-negative
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0, :] = np.sqrt(S[0]) * np.abs(V[0, :])
    if n_components > 1:
        # every other pair: keep the dominant one of its positive and negative parts
        x, y = U[:, 1:], V[1:, :]
        x_p, y_p = np.maximum(x, 0), np.maximum(y, 0)
        x_n, y_n = np.maximum(-x, 0), np.maximum(-y, 0)
        x_p_nrm, y_p_nrm = np.linalg.norm(x_p, axis=0), np.linalg.norm(y_p, axis=1)
        x_n_nrm, y_n_nrm = np.linalg.norm(x_n, axis=0), np.linalg.norm(y_n, axis=1)
        m_p, m_n = x_p_nrm * y_p_nrm, x_n_nrm * y_n_nrm
        use_p = m_p > m_n
        with np.errstate(invalid="ignore", divide="ignore"):
            u = np.where(use_p, x_p / x_p_nrm, x_n / x_n_nrm)
            v = np.where(use_p[:, None], y_p / y_p_nrm[:, None], y_n / y_n_nrm[:, None])
        lbd = np.sqrt(S[1:] * np.where(use_p, m_p, m_n))
        W[:, 1:] = lbd * np.nan_to_num(u)
        H[1:, :] = lbd[:, None] * np.nan_to_num(v)
    # scikit-learn's absolute eps would zero the whole start of data below it
    largest = float(X.max()) if X.size else 0.0
    eps = min(eps, largest) if largest > 0 else eps
    W[W < eps] = 0
    H[H < eps] = 0
    if init == "nndsvda":
        avg = _mean(X)
        W[W == 0] = avg
        H[H == 0] = avg
    elif init == "nndsvdar":
        rng = check_random_state(random_state)
        avg = _mean(X)
        W[W == 0] = abs(avg * rng.standard_normal(size=len(W[W == 0])) / 100)
        H[H == 0] = abs(avg * rng.standard_normal(size=len(H[H == 0])) / 100)
    return W.astype(dtype, copy=False), H.astype(dtype, copy=False)


def uniform_rows(n_rows, n_components, scale, dtype):
    """The start of a W solve with H fixed: every entry ``scale`` (row-independent)."""
    return np.full((n_rows, n_components), scale, dtype=dtype)
