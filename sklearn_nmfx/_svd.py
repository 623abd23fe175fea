"""TruncatedSVDTopics: truncated SVD (latent semantic indexing) of a document-term matrix."""

import math

import numpy as np

from ._base import FactorizationBase
from ._kernels.svd import arpack_svd, flip_signs, randomized_svd
from ._validation import (
    Integral,
    Interval,
    Real,
    StrOptions,
    check_components_fit_in_memory,
)


class TruncatedSVDTopics(FactorizationBase):
    """Truncated SVD of a (sparse) document-term matrix: latent semantic indexing.

    Find the ``n_components`` largest singular triplets of X,
    ``X ~ U @ diag(S) @ Vt``, without centering X, so that sparse input stays
    sparse. ``components_`` is ``Vt`` (the topics: one signed weight per term) and
    ``transform(X)`` is ``X @ components_.T`` (``U @ diag(S)`` on the training
    data). It has the attributes of :class:`sklearn.decomposition.TruncatedSVD`,
    runs on the CPU or any PyTorch device, keeps float32 as float32, and orients
    every component so that its largest-magnitude loadings are positive, so that
    a topic reads from its positive pole (the topic helpers of
    :mod:`sklearn_nmfx.topics` can show both poles).

    Parameters
    ----------
    n_components : int, default=2
        Number of components (topics), at most ``min(n_samples, n_features)``
        (less than that with ``algorithm='arpack'``).

    algorithm : {'auto', 'randomized', 'arpack'}, default='auto'
        SVD solver.

        - 'auto': 'randomized', on every device, as scikit-learn's default
          (``benchmarks/README.md`` compares its time and explained variance with
          scikit-learn's solvers).

        - 'randomized': randomized subspace iteration (Halko, Martinsson & Tropp
          2011) with ``n_components + n_oversamples`` columns and ``n_iter``
          iterations, on the backend chosen by ``device`` (NumPy/SciPy or
          PyTorch: the same algorithm and, for a given ``random_state``, the same
          start on every device).
        - 'arpack': the exact sparse solver ARPACK through
          :func:`scipy.sparse.linalg.svds`, always on the CPU.

    n_iter : int, default=6
        Number of subspace iterations of the randomized solver; each is two
        passes over X. With the defaults (``n_iter=6``, ``n_oversamples=10``) the
        sketch is ``(X X^T)^6`` times a Gaussian matrix, the power 12 of the
        singular values where scikit-learn's defaults (5 and 10) reach 11, for
        one pass more over X. More iterations or oversamples come closer to
        ARPACK at a cost linear in each. Not used by ARPACK.

    n_oversamples : int, default=10
        Number of extra columns of the randomized sketch. Not used by ARPACK.

    power_iteration_normalizer : {'auto', 'QR', 'LU', 'none'}, default='auto'
        How the randomized solver renormalizes its power iterations: 'auto' an
        LU factorization after every second pass over X, 'QR' or 'LU' after
        every pass, 'none' only once at the end (fastest, and inaccurate when
        ``n_iter`` is large). Not used by ARPACK.

    random_state : int, RandomState instance or None, default=None
        Seed of the random start (drawn with NumPy): a Gaussian matrix for the
        randomized solver, ARPACK's start vector otherwise. Pass an int for
        reproducible results.

    tol : float, default=0.0
        Tolerance for ARPACK; 0 means machine precision. Not used by the
        randomized solver.

    device : None, str or torch.device, default=None
        Where to compute. None or 'cpu': NumPy and SciPy (PyTorch is not
        needed). 'torch': PyTorch on the CPU. 'cuda', 'cuda:1', 'mps' or a
        ``torch.device``: PyTorch on that device. Sparse X stays sparse on every
        device. Fitted attributes are NumPy arrays whatever the device.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The right singular vectors ``Vt`` (orthonormal rows), largest singular
        value first, each oriented so that its largest-magnitude entry is
        positive.

    explained_variance_ : ndarray of shape (n_components,)
        The variance of each column of ``transform(X)`` on the training data. It
        is of the order of X's scale squared: X whose total variance (the sum of
        its columns' variances) overflows its dtype (largest magnitudes near the
        square root of the dtype's largest value, about 1.3e154 in float64 and
        1.8e19 in float32) is refused before the fit, and for tiny X it underflows
        towards 0 (``explained_variance_ratio_``, computed on X scaled into range,
        does not).

    explained_variance_ratio_ : ndarray of shape (n_components,)
        ``explained_variance_`` divided by the total variance of X (the sum of
        the variances of its columns). As X is not centered, this need not
        decrease along the components (the first component of a document-term
        matrix is close to the mean document and explains little variance).

    singular_values_ : ndarray of shape (n_components,)
        The singular values, in decreasing order.

    n_components_ : int
        The number of components.

    algorithm_ : str
        The solver used, 'randomized' or 'arpack' ('auto' resolved).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has feature names that are all
        strings.

    See Also
    --------
    sklearn.decomposition.TruncatedSVD : scikit-learn's truncated SVD.
    sklearn_nmfx.MUNMF : non-negative factorization, topics without signs.

    Notes
    -----
    ``fit_transform(X)`` returns exactly ``fit(X).transform(X)``, that is
    ``X @ components_.T``; with an exact SVD this equals ``U * S``.

    X may be a ``dask.array.Array`` chunked by rows (extra ``[dask]``): ``fit``
    then runs the randomized solver over its row blocks, and ``transform`` returns
    a dask array; see the user guide's "Scaling out".

    References
    ----------
    Halko, N., Martinsson, P. G. & Tropp, J. A. (2011). Finding structure with
    randomness: probabilistic algorithms for constructing approximate matrix
    decompositions. SIAM Review 53(2).

    Deerwester, S. et al. (1990). Indexing by latent semantic analysis. Journal
    of the American Society for Information Science 41(6).

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sklearn_nmfx import TruncatedSVDTopics
    >>> X = sp.random(100, 60, density=0.05, format="csr", random_state=0)
    >>> svd = TruncatedSVDTopics(n_components=5, random_state=0)
    >>> W = svd.fit_transform(X)
    >>> W.shape, svd.components_.shape
    ((100, 5), (5, 60))
    >>> bool(np.all(np.diff(svd.singular_values_) <= 0))
    True
    >>> np.allclose(svd.components_ @ svd.components_.T, np.eye(5))
    True
    """

    _non_negative = False

    _feature_names_prefix = "truncatedsvd"  # scikit-learn's names

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "algorithm": [StrOptions({"auto", "randomized", "arpack"})],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "n_oversamples": [Interval(Integral, 0, None, closed="left")],
        "power_iteration_normalizer": [StrOptions({"auto", "QR", "LU", "none"})],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": "no_validation",  # checked with a precise message by resolve_backend
    }

    def __init__(
        self,
        n_components=2,
        *,
        algorithm="auto",
        n_iter=6,
        n_oversamples=10,
        power_iteration_normalizer="auto",
        random_state=None,
        tol=0.0,
        device=None,
    ):
        self.n_components = n_components
        self.algorithm = algorithm
        self.n_iter = n_iter
        self.n_oversamples = n_oversamples
        self.power_iteration_normalizer = power_iteration_normalizer
        self.random_state = random_state
        self.tol = tol
        self.device = device

    _takes_dask = True
    _keeps_transpose = True

    # -- the work ---------------------------------------------------------------
    def _check_n_components(self, shape):
        n_samples, n_features = shape
        limit = min(n_samples, n_features)
        k = self.n_components
        if self.algorithm == "arpack" and k >= limit:
            raise ValueError(
                f"n_components={k} must be < min(n_samples, n_features) = {limit} "
                f"with algorithm='arpack' (X has n_samples={n_samples}, "
                f"n_features={n_features})."
            )
        if k > limit:
            raise ValueError(
                f"n_components={k} must be <= min(n_samples, n_features) = {limit} "
                f"(X has n_samples={n_samples}, n_features={n_features})."
            )

    def _fit_data(self, data):
        self._check_n_components(data.shape)
        k = int(self.n_components)
        algorithm = "randomized" if self.algorithm == "auto" else self.algorithm
        if algorithm == "arpack" and data.host is None:
            raise ValueError(
                "algorithm='arpack' needs X in memory; on a dask array use "
                "algorithm='randomized' (or 'auto')."
            )
        whom = f"{type(self).__name__}.fit"
        width = k if algorithm == "arpack" else k + int(self.n_oversamples)
        check_components_fit_in_memory(
            k, data.shape, data.dtype, whom, n_columns=width,
            what=f"the SVD's bases of {width} columns (n_components + n_oversamples) and "
                 "their products")
        svd_data, scale = _in_safe_range(data)
        _check_variance_representable(svd_data, scale, data.dtype, whom)
        if scale == 0:  # X = 0: every orthonormal Vt is an SVD; take the first axes
            S, Vt = np.zeros(k), np.eye(k, data.shape[1])
        else:
            S, Vt = self._svd(svd_data, k, algorithm)
        S = np.asarray(S, dtype=np.float64) * scale if scale != 1.0 else S
        _, components = flip_signs(np.asarray(Vt, dtype=data.dtype))
        components = np.ascontiguousarray(components)
        W = _project(data, components)  # transform(X), exactly
        # the variances of svd_data (X / scale where X is out of the safe range, then
        # in X's units): the ratio neither underflows for tiny X nor overflows for
        # huge X
        scaled = scale not in (0, 1.0)
        W_var = _project(svd_data, components) if scaled else W
        with np.errstate(over="ignore", invalid="ignore"):  # overflow: reported by the base
            explained_variance = np.var(W_var, axis=0)
            full_variance = svd_data.total_variance
        del svd_data, W_var
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = explained_variance / full_variance if full_variance > 0 else (
                np.zeros_like(explained_variance))
        if scaled:
            with np.errstate(under="ignore"):  # tiny X: variances of its scale squared
                # twice by scale: its square may overflow where the variance is 0
                explained_variance = explained_variance * scale * scale
        attributes = {
            "components_": components,
            "n_components_": k,
            "algorithm_": algorithm,
            "singular_values_": np.asarray(S, dtype=data.dtype).copy(),
            "explained_variance_": explained_variance.astype(data.dtype, copy=False),
            "explained_variance_ratio_": np.asarray(ratio, dtype=data.dtype),
        }
        return attributes, W

    def _svd(self, data, k, algorithm):
        """(S, Vt) in NumPy; a solver that fails raises a RuntimeError saying so."""
        backend = data.backend
        try:
            if algorithm == "arpack":
                _, S, Vt = arpack_svd(data.host, k, tol=self.tol, random_state=self.random_state)
            else:
                with backend.own_threads(data):
                    _, S, Vt = randomized_svd(
                        data, k, n_oversamples=int(self.n_oversamples),
                        n_iter=int(self.n_iter), random_state=self.random_state, B=backend,
                        normalizer=self.power_iteration_normalizer,
                    )
                S, Vt = backend.to_numpy(S), backend.to_numpy(Vt)
        except (np.linalg.LinAlgError, RuntimeError) as exc:  # ARPACK, LAPACK, torch.linalg
            raise RuntimeError(
                f"TruncatedSVDTopics: the {algorithm} SVD of X failed ({exc})."
            ) from exc
        if not (np.isfinite(S).all() and np.isfinite(Vt).all()):
            raise RuntimeError(
                f"TruncatedSVDTopics: the {algorithm} SVD of X produced non-finite values."
            )
        return S, Vt

    def _transform_data(self, data):
        return _project(data, self.components_.astype(data.dtype, copy=False))


def _check_variance_representable(svd_data, scale, dtype, whom):
    """Refuse, before the SVD, X whose total variance (the sum of its columns'
    variances, which bounds each component's ``explained_variance_``) overflows its
    dtype: measured on ``svd_data`` (X scaled into range) times ``scale ** 2``."""
    if scale == 0:
        return
    total = float(svd_data.total_variance)
    limit = float(np.finfo(dtype).max)
    if total <= 0:
        return
    log10_total = math.log10(total) + 2 * math.log10(scale)  # inf for an inf total
    if log10_total < math.log10(limit):
        return
    raise ValueError(
        f"X is too large for {whom} in {np.dtype(dtype).name}: its total variance (about "
        f"1e{math.floor(log10_total) if math.isfinite(log10_total) else '+inf'}), of which "
        f"explained_variance_ is a part, would overflow past {limit:.3g} (X's largest "
        f"magnitude is {float(svd_data.max_abs) * scale:.3g}). Divide X by a constant "
        "first (the components and explained_variance_ratio_ do not change)"
        + (", or use float64." if np.dtype(dtype) == np.float32 else "."))


def _in_safe_range(data):
    """(data or data / scale, scale): X divided by its largest magnitude when that is
    too large or too small for the products of the SVD (``X.T @ X`` squares the
    scale: ARPACK then fails, eigh does not converge), else X itself and 1.0. The
    singular vectors do not change, the singular values are multiplied back by
    ``scale``; scale 0 means X = 0."""
    scale = data.max_abs
    finfo = np.finfo(data.dtype)
    low, high = np.sqrt(float(finfo.tiny)) * 1e3, np.sqrt(float(finfo.max)) / 1e3
    if scale == 0 or low <= scale <= high:
        return data, (scale and 1.0)
    return data.scaled(scale), scale


def _project(data, components):
    """``X @ components.T`` as a NumPy array of the components' dtype."""
    backend = data.backend
    W = data.matmul(backend.from_numpy(np.ascontiguousarray(components.T)))
    return np.ascontiguousarray(backend.to_numpy(W), dtype=components.dtype)
