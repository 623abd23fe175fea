"""MUNMF: non-negative matrix factorization by multiplicative updates."""

import math
import warnings

import numpy as np

from ._base import (
    NMFBase,
    banded_scale,
    divided,
    objective_factor,
    scaled_regularization,
    scaled_start,
)
from ._kernels.init import INIT_METHODS, resolve_init
from ._kernels.losses import BETA_LOSS_NAMES, beta_divergence, beta_from_loss, error_from_divergence
from ._kernels.mu import floors, multiplicative_update
from ._kernels.solve import scale_from_sum, solve_W
from ._validation import Integral, Interval, Real, StrOptions, check_zeros_for_beta


class MUNMF(NMFBase):
    """Non-negative matrix factorization by multiplicative updates.

    Find two non-negative matrices W and H whose product approximates the
    non-negative matrix X, ``X ~ W @ H``, by minimizing the beta divergence
    ``d_beta(X, W @ H)`` plus the elementwise L1/L2 penalties of
    :class:`sklearn.decomposition.NMF`::

        d_beta(X, WH)
        + alpha_W * l1_ratio * n_features * ||W||_1
        + 0.5 * alpha_W * (1 - l1_ratio) * n_features * ||W||_F^2
        + alpha_H * l1_ratio * n_samples * ||H||_1
        + 0.5 * alpha_H * (1 - l1_ratio) * n_samples * ||H||_F^2

    with multiplicative updates (Lee & Seung 2001; Fevotte & Idier 2011):
    majorization-minimization steps that keep the factors non-negative and never
    increase the objective. For the Frobenius loss the step is the fast
    multiplicative update of Pham, Cohen & Chonavel (2023), whose tighter majorant
    lets entries reach zero (Lee & Seung's rule stalls on plateaus where it cannot),
    accelerated as in Gillis & Glineur (2012): the expensive products with X are
    computed once per iteration and the cheap update of each factor is repeated on
    them while it still moves. Up to 10 components each repeat takes that step one
    column of the factor at a time, each column seeing the new values of the
    others: for one column the step's diagonal majorant is exact, and the step is
    the exact minimizer over that column (the HALS step of Cichocki & Phan 2009),
    which converges in far fewer iterations at few components.

    The parameters have the names and meanings of
    :class:`sklearn.decomposition.NMF`, so code moves over by changing the class
    name, plus ``device``.

    Parameters
    ----------
    n_components : int, 'auto' or None, default='auto'
        Number of components (topics). With 'auto' (or None) it is taken from
        the shape of ``W`` or ``H`` when given with ``init='custom'``, else it
        is ``n_features``.

    init : {'random', 'nndsvd', 'nndsvda', 'nndsvdar', 'custom'}, default=None
        How W and H start, exactly as in :class:`sklearn.decomposition.NMF` (the
        same ``random_state`` gives the same start):

        - None: 'nndsvda' if ``n_components <= min(n_samples, n_features)``,
          otherwise 'random'.
        - 'random': ``sqrt(X.mean() / n_components)`` times absolute standard
          normal values.
        - 'nndsvd': Nonnegative Double Singular Value Decomposition (Boutsidis &
          Gallopoulos 2008). Its zeros stay zero under multiplicative updates.
        - 'nndsvda': NNDSVD with zeros filled with the mean of X.
        - 'nndsvdar': NNDSVD with zeros filled with small random values.
        - 'custom': ``W`` and ``H`` passed to ``fit``.

    solver : {'mu'}, default='mu'
        Numerical solver: 'mu', multiplicative updates, the only one here (as
        scikit-learn's ``solver='mu'``, which its KL and Itakura-Saito fits need).
        For coordinate descent use :class:`sklearn.decomposition.NMF` with
        ``solver='cd'`` (or :class:`SGDNMF`, whose Frobenius step is HALS, a
        coordinate descent).

    beta_loss : float or {'frobenius', 'kullback-leibler', 'itakura-saito'}, \
            default='frobenius'
        Beta divergence to minimize: 'frobenius' (2), 'kullback-leibler' (1),
        'itakura-saito' (0), or any float. For ``beta_loss <= 0`` X must not
        contain zeros.

    tol : float, default=1e-4
        Tolerance of the stopping condition, checked every 10 iterations: the fit
        stops when the error ``sqrt(2 * objective)`` fell by less than ``tol``
        times the error at the start since the last check (the rule of
        scikit-learn's ``solver='mu'``, applied when ``tol > 0``), or when an
        iteration changes W and H (L1 norm of the change) by less than ``tol``
        times the change of the first iteration (the measure of its coordinate
        descent solver), whichever comes first.

    max_iter : int, default=200
        Maximum number of iterations before timing out (a ``ConvergenceWarning``
        is raised). ``transform`` runs at most ``max_iter`` steps per row.

    random_state : int, RandomState instance or None, default=None
        Seed of the random initializations ('random', 'nndsvdar', and the
        randomized SVD of the NNDSVD family). Pass an int for reproducible
        results; the start is drawn with NumPy on every device, so the same seed
        gives the same start on the CPU and on a GPU.

    alpha_W : float, default=0.0
        Regularization constant of W (0 for none), scaled by ``n_features``.

    alpha_H : float or 'same', default='same'
        Regularization constant of H, scaled by ``n_samples``; 'same' takes
        ``alpha_W``.

    l1_ratio : float, default=0.0
        Mix of L1 and L2 in the regularization: 0 is an elementwise L2 penalty
        (Frobenius norm), 1 an elementwise L1 penalty.

    verbose : int, default=0
        Print the objective every 10 iterations when positive.

    shuffle : bool, default=False
        Accepted as scikit-learn's ``solver='mu'`` accepts it: it randomizes the
        order of coordinates of coordinate descent only, so it changes nothing
        here.

    device : None, str or torch.device, default=None
        Where to compute. None or 'cpu': NumPy and SciPy (PyTorch is not
        needed). 'torch': PyTorch on the CPU. 'cuda', 'cuda:1', 'mps' or a
        ``torch.device``: PyTorch on that device. Sparse X stays sparse on every
        device. Fitted attributes are NumPy arrays whatever the device.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Factorization matrix H, the topics when X is a document-term matrix.

    n_components_ : int
        The number of components.

    fixed_components_ : ndarray of int
        The components held fixed by ``fit(..., fixed_components=...)``, sorted
        (empty when none): their rows of ``components_`` are those given in ``H``.

    reconstruction_err_ : float
        Beta divergence between X and ``transform(X) @ components_``, as
        ``sqrt(2 * d_beta)``: the Frobenius norm ``||X - WH||_F`` for the
        default loss.

    n_iter_ : int
        Number of iterations run.

    loss_curve_ : list of float
        The objective (divergence plus penalties) at iteration 0 and every 10
        iterations; it never increases.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has feature names that are all
        strings.

    See Also
    --------
    sklearn.decomposition.NMF : scikit-learn's NMF (coordinate descent or MU).

    Notes
    -----
    ``transform`` solves for W with H fixed, starting every row from the same
    constant and stopping each row by itself, so the result for a row does not
    depend on the other rows; ``fit_transform(X)`` returns exactly
    ``fit(X).transform(X)``.

    The fit follows X's scale: X whose largest entry is outside [2**-10, 2**10) is
    fitted as ``X / s``, ``s`` a power of ``4**10``, with the penalties mapped to
    the same minimization and the factors scaled back by ``sqrt(s)`` (exact
    powers of 2), so ``fit(4**10 * X)`` is ``fit(X)`` with factors times ``2**10``;
    X in that range is fitted as it is.

    X may be a ``dask.array.Array`` chunked by rows (extra ``[dask]``): each
    iteration is then one pass over its row blocks, W stays in row blocks on the
    workers, and ``transform`` and ``fit_transform`` return dask arrays; see the
    user guide's "Scaling out".

    References
    ----------
    Lee, D. D. & Seung, H. S. (2001). Algorithms for non-negative matrix
    factorization. NIPS 13.

    Fevotte, C. & Idier, J. (2011). Algorithms for nonnegative matrix
    factorization with the beta-divergence. Neural Computation 23(9).

    Pham, M. Q., Cohen, J. E. & Chonavel, T. (2023). A fast multiplicative
    updates algorithm for non-negative matrix factorization. arXiv:2303.17992.

    Cichocki, A. & Phan, A.-H. (2009). Fast local algorithms for large scale
    nonnegative matrix and tensor factorizations. IEICE Transactions on
    Fundamentals E92-A(3).

    Gillis, N. & Glineur, F. (2012). Accelerated multiplicative updates and
    hierarchical ALS algorithms for nonnegative matrix factorization. Neural
    Computation 24(4).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_nmfx import MUNMF
    >>> X = np.array([[1, 1], [2, 1], [3, 1.2], [4, 1], [5, 0.8], [6, 1]])
    >>> model = MUNMF(n_components=2, init="random", random_state=0)
    >>> W = model.fit_transform(X)
    >>> W.shape, model.components_.shape
    ((6, 2), (2, 2))
    >>> bool(model.reconstruction_err_ < 0.1)
    True

    Missing entries (NaN) are left out of the fit; ``inverse_transform`` fills
    them in:

    >>> X_rank1 = np.outer([1.0, 2, 3, 4], [1.0, 2, 3])
    >>> X_missing = X_rank1.copy()
    >>> X_missing[2, 1] = np.nan
    >>> model = MUNMF(n_components=1, random_state=0)
    >>> completed = model.inverse_transform(model.fit_transform(X_missing))
    >>> round(float(completed[2, 1]), 2)  # X_rank1[2, 1] is 6
    6.0

    A topic held fixed while the other is learned:

    >>> H0 = np.array([[0.0, 1.0]])
    >>> model = MUNMF(n_components=2, random_state=0).fit(X, H=H0, fixed_components=[1])
    >>> model.components_[1].tolist(), model.fixed_components_.tolist()
    ([0.0, 1.0], [1])
    """

    _feature_names_prefix = "nmf"  # scikit-learn's names

    _parameter_constraints = {
        **NMFBase._parameter_constraints,
        "init": [StrOptions(set(INIT_METHODS)), None],
        "solver": [StrOptions({"mu", "cd"})],  # 'cd' refused with advice in fit
        "beta_loss": [StrOptions(set(BETA_LOSS_NAMES)),
                      Interval(Real, None, None, closed="neither")],  # finite
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "alpha_W": [Interval(Real, 0, None, closed="left")],
        "alpha_H": [Interval(Real, 0, None, closed="left"), StrOptions({"same"})],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "shuffle": ["boolean"],
    }

    def __init__(
        self,
        n_components="auto",
        *,
        init=None,
        solver="mu",
        beta_loss="frobenius",
        tol=1e-4,
        max_iter=200,
        random_state=None,
        alpha_W=0.0,
        alpha_H="same",
        l1_ratio=0.0,
        verbose=0,
        shuffle=False,
        device=None,
    ):
        self.n_components = n_components
        self.init = init
        self.solver = solver
        self.beta_loss = beta_loss
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.verbose = verbose
        self.shuffle = shuffle
        self.device = device

    _takes_dask = True
    _keeps_transpose = True

    # -- the work ---------------------------------------------------------------
    def _start(self, data, W, H, n_components, fixed_components=None):
        if resolve_init(self.init, n_components, *data.shape) == "nndsvd":
            warnings.warn(
                "Multiplicative updates cannot update the zeros of an init='nndsvd' "
                "start, which leads to poorer results; try init='nndsvda' or "
                "init='nndsvdar'.",
                UserWarning,
                stacklevel=5,
            )
        return super()._start(data, W, H, n_components, fixed_components)

    def _fit_data(self, data, W=None, H=None, fixed_components=None):
        if self.solver == "cd":
            beta = beta_from_loss(self.beta_loss)
            # scikit-learn's own words first where it would refuse too
            refusal = ("" if beta == 2 else "Invalid beta_loss parameter: solver 'cd' "
                       f"does not handle beta_loss = {float(beta)!r}. ")
            raise ValueError(
                refusal + "MUNMF runs multiplicative updates only: use solver='mu' (the "
                "default), or sklearn.decomposition.NMF(solver='cd') for coordinate "
                "descent (SGDNMF's Frobenius step is HALS, a coordinate descent)."
            )
        n_samples, n_features = data.shape
        n_components = self._resolved_n_components(n_features, W, H, fixed_components)
        beta = beta_from_loss(self.beta_loss)
        check_zeros_for_beta(data, beta)
        self._check_solve_memory(data, n_components, beta, "fit")  # the last solve of W
        backend = data.backend
        # X of a scale far from 1 (outside [2**-10, 2**10)) is fitted as X / scale, a
        # power of 4**10, with the factors divided by sqrt(scale): exact scalings, and
        # the start (NNDSVDa fills zeros with X's mean, a quantity of X's scale, not
        # of the factors') and the steps follow X's scale; 1 for ordinary data
        scale = banded_scale(data, beta)
        work = divided(data, scale)
        if work is not data and self._keeps_transpose:
            work.keep_transpose()
        factor = objective_factor(scale, beta)
        with backend.own_threads(work):
            W0, H0, fixed = self._start(work, W, H, n_components, fixed_components)
            W0, H0 = scaled_start(W0, H0, fixed, resolve_init(self.init, n_components,
                                                              n_samples, n_features), scale)
            l1_W, l2_W, l1_H, l2_H = self._regularization(n_samples, n_features, scale)
            Ht0 = np.ascontiguousarray(H0.T)
            del H0  # only its transpose is used
            report = self._reporter("iteration")
            W, Ht, n_iter, history, converged = multiplicative_update(
                work, backend.from_numpy(W0), backend.from_numpy(Ht0),
                beta=beta, l1_W=l1_W, l2_W=l2_W, l1_H=l1_H, l2_H=l2_H,
                max_iter=int(self.max_iter), tol=self.tol,
                callback=report if scale == 1.0 else (
                    lambda n_iter, objective: report(n_iter, objective * factor)),
                fixed_columns=None if fixed is None else np.isin(np.arange(n_components), fixed),
                copy=False,  # the start is handed over: the iterations overwrite it
            )
            del W0, Ht0  # buffers of the iterations, free now
            transform_scale = scale_from_sum(work.total, work.n_observed, n_components)
            W_final = self._solve_W(work, Ht, transform_scale, scale)
            divergence = work.sum_blocks(beta_divergence, W_final, Ht=Ht, beta=beta,
                                         eps=floors(work.dtype, work.max_value)[1])
            divergence = backend.scalar(divergence)
            if scale != 1.0:  # back to X's scale, exactly (powers of 2)
                root = math.sqrt(scale)
                Ht, W_final = Ht * root, W_final * root
                history = [(i, objective * factor) for i, objective in history]
                divergence = divergence * factor
            attributes = self._factorization_attributes(Ht, fixed, n_iter, history, converged,
                                                        backend)
            # _transform_scale is of the working data X / _scale
            attributes.update(reconstruction_err_=error_from_divergence(divergence),
                              _transform_scale=transform_scale, _scale=scale)
            return attributes, backend.to_numpy(W_final)

    def _regularization(self, n_samples, n_features, scale=1.0):
        """The penalty weights of the problem on ``X / scale`` (``scaled_regularization``:
        the same minimization as on X)."""
        weights = super()._regularization(n_samples, n_features)
        return scaled_regularization(weights, scale, beta_from_loss(self.beta_loss))

    def _solve_W(self, data, Ht, transform_scale, scale=1.0):
        """W for fixed H, row by row (``solve.solve_W``), on the working data
        ``X / scale`` with ``H / sqrt(scale)``."""
        n_samples, n_features = data.shape
        l1_W, l2_W, _, _ = self._regularization(n_samples, n_features, scale)
        return solve_W(data, Ht, beta=beta_from_loss(self.beta_loss), l1=l1_W, l2=l2_W,
                       max_iter=int(self.max_iter), tol=self.tol, scale=transform_scale)

    def _transform_data(self, data):
        beta = beta_from_loss(self.beta_loss)
        check_zeros_for_beta(data, beta)
        self._check_solve_memory(data, self.n_components_, beta, "transform")
        backend = data.backend
        scale = self._scale
        H = self.components_ if scale == 1.0 else self.components_ / math.sqrt(scale)
        Ht = backend.from_numpy(np.ascontiguousarray(H.T, dtype=data.dtype))
        W = self._solve_W(divided(data, scale), Ht, self._transform_scale, scale)
        if scale != 1.0:
            W = W * math.sqrt(scale)  # a power of 2: exact
        return backend.to_numpy(W)
