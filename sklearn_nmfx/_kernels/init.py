"""Starting points for NMF: random, NNDSVD and its variants, as scikit-learn computes them.

Everything here runs in NumPy on the CPU, from the same ``random_state``, so every
backend starts from the same W and H (the estimator moves them to its device). X
is a data matrix on the NumPy backend (in memory, or the Dask peer): the NNDSVD
start runs scikit-learn's randomized SVD on its products.
"""

import numpy as np
from sklearn.utils import check_random_state

from .svd import randomized_svd

INIT_METHODS = ("random", "nndsvd", "nndsvda", "nndsvdar", "custom")


def resolve_init(init, n_components, n_samples, n_features):
    """The init method to use: scikit-learn's default is 'nndsvda' when it applies."""
    if init is None:
        return "nndsvda" if n_components <= min(n_samples, n_features) else "random"
    if init in ("nndsvd", "nndsvda", "nndsvdar") and n_components > min(n_samples, n_features):
        raise ValueError(
            f"init = {init!r} can only be used when n_components <= min(n_samples, "
            f"n_features) = {min(n_samples, n_features)}; got n_components="
            f"{n_components}. Use init='random' or fewer components."
        )
    return init


def initialize_factors(data, n_components, init, random_state, eps=1e-6):
    """Initial W (n_samples, n_components) and H (n_components, n_features).

    Parameters
    ----------
    data : DataMatrix on the NumPy backend
        Non-negative data, missing entries set to zero. Its products (on the
        threads for a large sparse X) add the same terms in the same order as
        SciPy's, so the start is scikit-learn's bit for bit.
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
    dtype = data.dtype
    if init == "random":
        return random_start(data.mean, data.shape, n_components, dtype, random_state)

    # the mean of a sparse X copies its values: taken before the SVD's temporaries
    # and the factors exist, it adds nothing to the peak
    avg = data.mean if init != "nndsvd" else None
    U, S, V = randomized_svd(data, n_components, n_oversamples=10, n_iter="auto",
                             random_state=random_state, B=data.backend, scheme="scikit-learn")
    eps = nndsvd_threshold(eps, data.max_value)
    use_p, lbd = nndsvd_weights(S, split_norms(U), split_norms(V.T))
    W = nndsvd_factor(U, S, use_p, lbd, split_norms(U), eps)
    del U
    H = np.ascontiguousarray(nndsvd_factor(V.T, S, use_p, lbd, split_norms(V.T), eps).T)
    del V
    if init != "nndsvd":
        rng = check_random_state(random_state) if init == "nndsvdar" else None
        fill_zeros(W, zero_fill(init, avg, np.count_nonzero(W == 0), rng))
        fill_zeros(H, zero_fill(init, avg, np.count_nonzero(H == 0), rng))
    return W.astype(dtype, copy=False), H.astype(dtype, copy=False)


def random_start(mean, shape, n_components, dtype, random_state):
    """The 'random' start: ``sqrt(mean / n_components)`` times absolute standard normals
    (H drawn first, then W), of ``dtype``."""
    n_samples, n_features = shape
    avg = np.sqrt(mean / n_components)
    rng = check_random_state(random_state)
    H = avg * rng.standard_normal(size=(n_components, n_features)).astype(dtype, copy=False)
    W = avg * rng.standard_normal(size=(n_samples, n_components)).astype(dtype, copy=False)
    np.abs(H, out=H)
    np.abs(W, out=W)
    return W.astype(dtype, copy=False), H.astype(dtype, copy=False)


def nndsvd_threshold(eps, largest):
    """The threshold below which NNDSVD entries become zero: ``eps``, or ``X.max()``
    when that is smaller (scikit-learn's absolute eps would zero the whole start of
    data below it)."""
    return min(eps, largest) if largest > 0 else eps


# NNDSVD (Boutsidis & Gallopoulos 2008), in the steps of scikit-learn's.
def split_norms(U):
    """Norms of the positive and of the negative parts of the columns 1: of U."""
    x = U[:, 1:]
    return np.linalg.norm(np.maximum(x, 0), axis=0), np.linalg.norm(np.maximum(-x, 0), axis=0)


def nndsvd_weights(S, U_norms, V_norms):
    """Which part (positive or negative) of each singular pair 1: to keep, and its weight.

    The leading singular pair of a non-negative matrix is non-negative; of every
    other pair keep the dominant one of its positive and negative parts.
    """
    (x_p_nrm, x_n_nrm), (y_p_nrm, y_n_nrm) = U_norms, V_norms
    m_p, m_n = x_p_nrm * y_p_nrm, x_n_nrm * y_n_nrm
    use_p = m_p > m_n
    return use_p, np.sqrt(S[1:] * np.where(use_p, m_p, m_n))


def nndsvd_factor(U, S, use_p, lbd, norms, eps):
    """The NNDSVD factor from singular vectors ``U`` (columns): W from U, H.T from V.T.

    ``norms`` are ``split_norms(U)``. Entries below ``eps`` are set to zero. Formed
    in the memory of F, without temporaries of its size.
    """
    F = np.zeros_like(U)
    F[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    if U.shape[1] > 1:
        x = U[:, 1:]
        p_nrm, n_nrm = norms
        u = F[:, 1:]  # the kept part of each column: max(x, 0) or max(-x, 0), normalized
        np.negative(x, out=u)
        np.copyto(u, x, where=use_p[None, :])
        np.maximum(u, 0, out=u)
        with np.errstate(invalid="ignore", divide="ignore"):
            u /= np.where(use_p, p_nrm, n_nrm)
        np.nan_to_num(u, copy=False)
        u *= lbd
    F[F < eps] = 0
    return F


def zero_fill(init, avg, n_zeros, rng):
    """What the zeros of an NNDSVD factor become: the mean of X ('nndsvda') or small
    random values ('nndsvdar', drawn from ``rng`` in the order of the zeros)."""
    if init == "nndsvda":
        return avg
    return abs(avg * rng.standard_normal(size=n_zeros) / 100)


def fill_zeros(F, values):
    """Set the zeros of F (in place) to ``values`` (a scalar or one per zero, row-major)."""
    F[F == 0] = values
    return F


def uniform_rows(n_rows, n_components, scale, dtype):
    """The start of a W solve with H fixed: every entry ``scale`` (row-independent)."""
    return np.full((n_rows, n_components), scale, dtype=dtype)
