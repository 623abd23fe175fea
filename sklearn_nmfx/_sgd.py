"""SGDNMF: minibatch (online) non-negative matrix factorization, with ``partial_fit``."""

import math

import numpy as np
from sklearn.utils import check_random_state

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
from ._kernels.minibatch import (
    LEARNING_RATES,
    MinibatchSteps,
    forget_rate,
    initial_statistics,
    minibatch_nmf,
)
from ._kernels.mu import floors
from ._kernels.solve import scale_from_sum, solve_W
from ._validation import (
    Integral,
    Interval,
    Real,
    StrOptions,
    check_per_row_grams_fit_in_memory,
    check_zeros_for_beta,
    validate_params,
)


class SGDNMF(NMFBase):
    """Non-negative matrix factorization by minibatch (online) updates.

    Find two non-negative matrices W and H whose product approximates the
    non-negative matrix X, ``X ~ W @ H``, by minimizing a beta divergence plus the
    elementwise L1/L2 penalties of :class:`sklearn.decomposition.MiniBatchNMF`,
    one minibatch of rows at a time (Lefevre, Bach & Fevotte 2011; Mairal et al.
    2010)::

        d_beta(X, WH)
        + alpha_W * l1_ratio * n_features * ||W||_1
        + 0.5 * alpha_W * (1 - l1_ratio) * n_features * ||W||_F^2
        + alpha_H * l1_ratio * batch_size * ||H||_1
        + 0.5 * alpha_H * (1 - l1_ratio) * batch_size * ||H||_F^2

    It takes :class:`~sklearn.decomposition.MiniBatchNMF`'s parameters with their
    meanings. For each minibatch ``X_b`` the rows ``W_b`` take a
    majorization-minimization step with H fixed (or are solved from scratch with
    ``fresh_restarts``); the statistics of H's surrogate objective are rescaled by
    ``forget_factor ** (batch_size / n_samples)`` and the batch's terms added; then
    H takes a majorization-minimization step on them. The steps are MUNMF's (the
    fast multiplicative update for the Frobenius loss, Fevotte & Idier's for the
    other beta divergences): with one batch (``batch_size >= n_samples``) and
    ``forget_factor=0`` a fit is MUNMF's. Sparse X is never densified.

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

    batch_size : int, default=1024
        Number of rows (samples) in each minibatch.

    beta_loss : float or {'frobenius', 'kullback-leibler', 'itakura-saito'}, \
            default='frobenius'
        Beta divergence to be minimized, measuring the distance between X and
        the dot product WH. Values different from 'frobenius' (or 2) and
        'kullback-leibler' (or 1) lead to significantly slower fits. For
        ``beta_loss <= 0`` (or 'itakura-saito'), X cannot contain zeros.

    tol : float, default=1e-4
        Stop early once a minibatch step changes H by at most ``tol`` times its
        (Frobenius) norm. 0 disables this rule.

    max_no_improvement : int or None, default=10
        Stop early once the moving average of the minibatch costs (an
        exponentially weighted average, as in scikit-learn) has not improved for
        this many consecutive steps. None disables this rule.

    max_iter : int, default=200
        Maximum number of passes over the whole data (epochs) before stopping.
        A ``ConvergenceWarning`` is raised when ``fit`` reaches it.

    alpha_W : float, default=0.0
        Regularization constant of W (0 for none), scaled by ``n_features``.

    alpha_H : float or 'same', default='same'
        Regularization constant of H, scaled by the rows of a minibatch; 'same'
        takes ``alpha_W``.

    l1_ratio : float, default=0.0
        Mix of L1 and L2 in the regularization: 0 is an elementwise L2 penalty
        (Frobenius norm), 1 an elementwise L1 penalty.

    forget_factor : float, default=0.7
        Amount of rescaling of past information: at each minibatch step the
        statistics of the earlier batches are multiplied by ``forget_factor **
        (batch_size / n_samples)``. 1.0 weighs every batch seen equally (suited
        to a finite data set); smaller values let the topics follow a drifting
        stream (online learning). In ``partial_fit``, ``n_samples`` is that of
        the first chunk.

    fresh_restarts : bool, default=False
        Whether to solve each minibatch's W completely (from a constant start)
        at every step, rather than take one step from its last value. Slower,
        and closer to the exact W.

    fresh_restarts_max_iter : int, default=30
        Maximum number of iterations of each W solve of a fresh restart, and of
        the W solve of each ``partial_fit`` chunk.

    transform_max_iter : int or None, default=None
        Maximum number of iterations of the W solve of ``transform`` (and of the
        final W of ``fit_transform``). None takes ``max_iter``.

    random_state : int, RandomState instance or None, default=None
        Seed of the initialization and of the shuffling. Pass an int for
        reproducible results; the same seed gives the same result on every
        device (up to rounding).

    verbose : int, default=0
        Print the mean minibatch cost after every epoch when positive.

    learning_rate : {'mu', 'lipschitz', 'constant', 'invscaling', 'adaptive'}, \
            default='mu'
        The minibatch steps (beyond MiniBatchNMF's, which has only 'mu'):

        - 'mu': majorization-minimization (multiplicative) steps, any beta loss.
        - 'lipschitz' (Frobenius loss only): HALS sweeps, exact coordinate
          steps ``1 / L`` with ``L`` the Lipschitz constant of each column.
        - 'constant', 'invscaling', 'adaptive' (Frobenius loss only): projected
          gradient steps of H of size ``eta / L`` (``L`` the largest eigenvalue
          of its statistics), with ``eta = eta0``, ``eta0 / epoch ** power_t``,
          or ``eta0`` divided by 5 each time ``max_no_improvement`` steps pass
          without improvement (the fit stops once it is below 1e-6); the W steps
          are HALS sweeps.

    eta0 : float, default=1.0
        Initial step, relative to ``1 / L``, of the gradient learning rates
        (unused with 'mu' and 'lipschitz').

    power_t : float, default=0.5
        Exponent of the 'invscaling' learning rate.

    shuffle : bool, default=True
        Whether to shuffle the rows once and the order of the minibatches at
        every epoch of ``fit`` (MiniBatchNMF visits them in order). Data sorted
        by topic (a corpus read category by category) needs it.

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
        Beta divergence ``sqrt(2 * d_beta(X, WH))`` of the training data, with
        ``W = transform(X)`` (after ``fit``), or of the last chunk with its W
        (after ``partial_fit``).

    n_iter_ : int
        Number of started passes over the whole data by the last ``fit``
        (``ceil(n_steps_ / steps per pass)``).

    n_steps_ : int
        Number of minibatches processed (each ``partial_fit`` adds its
        chunk's, one when the chunk is at most ``batch_size`` rows).

    loss_curve_ : list of float
        The mean minibatch cost (divergence plus penalties, per row) of every
        epoch of the last ``fit`` or ``partial_fit``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has feature names that are all
        strings.

    See Also
    --------
    MUNMF : Batch NMF by multiplicative updates, any beta divergence.
    sklearn.decomposition.MiniBatchNMF : scikit-learn's online NMF.

    Notes
    -----
    ``transform`` solves for W with H fixed, row by row (the result for a row
    does not depend on the other rows): for the Frobenius loss projected least
    squares then HALS sweeps, for the other losses multiplicative updates from a
    constant start. ``fit_transform(X)`` returns exactly ``fit(X).transform(X)``
    (MiniBatchNMF returns the W of its last steps unless ``fresh_restarts``).

    The fit follows X's scale: X whose largest entry is outside [2**-10, 2**10) is
    fitted as ``X / s``, ``s`` a power of ``4**10``, with the penalties mapped to
    the same minimization and the factors scaled back by ``sqrt(s)`` (exact
    powers of 2), so ``fit(4**10 * X)`` is ``fit(X)`` with factors times ``2**10``;
    X in that range is fitted as it is. ``partial_fit`` keeps the scale of the first
    chunk (or of ``fit``).

    References
    ----------
    Lefevre, A., Bach, F. & Fevotte, C. (2011). Online algorithms for
    nonnegative matrix factorization with the Itakura-Saito divergence. WASPAA.

    Mairal, J., Bach, F., Ponce, J. & Sapiro, G. (2010). Online learning for
    matrix factorization and sparse coding. JMLR 11.

    Pham, A. N., Cohen, J. E. & Chonavel, T. (2023). Fast multiplicative updates
    for NMF with beta divergences. arXiv:2303.17992.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_nmfx import SGDNMF
    >>> X = np.array([[1, 1], [2, 1], [3, 1.2], [4, 1], [5, 0.8], [6, 1]])
    >>> model = SGDNMF(n_components=2, batch_size=2, random_state=0)
    >>> W = model.fit_transform(X)
    >>> W.shape, model.components_.shape
    ((6, 2), (2, 2))
    >>> bool(model.reconstruction_err_ < 0.1 * np.linalg.norm(X))
    True
    >>> stream = SGDNMF(n_components=2, random_state=0)
    >>> for chunk in (X[:3], X[3:]):
    ...     stream = stream.partial_fit(chunk)
    >>> stream.n_steps_
    2
    >>> X_missing = X.copy()
    >>> X_missing[2, 0] = np.nan  # missing: left out of the fit
    >>> W = model.fit_transform(X_missing, H=np.array([[0.0, 1.0]]), fixed_components=[1])
    >>> model.components_[1].tolist()
    [0.0, 1.0]
    """

    _feature_names_prefix = "minibatchnmf"  # scikit-learn's names

    _parameter_constraints = {
        **NMFBase._parameter_constraints,
        "init": [StrOptions(set(INIT_METHODS)), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "beta_loss": [StrOptions(set(BETA_LOSS_NAMES)),
                      Interval(Real, None, None, closed="neither")],  # finite
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_no_improvement": [Interval(Integral, 1, None, closed="left"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "alpha_W": [Interval(Real, 0, None, closed="left")],
        "alpha_H": [Interval(Real, 0, None, closed="left"), StrOptions({"same"})],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "forget_factor": [Interval(Real, 0, None, closed="left")],
        "fresh_restarts": ["boolean"],
        "fresh_restarts_max_iter": [Interval(Integral, 1, None, closed="left")],
        "transform_max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "learning_rate": [StrOptions(set(LEARNING_RATES))],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
    }

    def __init__(
        self,
        n_components="auto",
        *,
        init=None,
        batch_size=1024,
        beta_loss="frobenius",
        tol=1e-4,
        max_no_improvement=10,
        max_iter=200,
        alpha_W=0.0,
        alpha_H="same",
        l1_ratio=0.0,
        forget_factor=0.7,
        fresh_restarts=False,
        fresh_restarts_max_iter=30,
        transform_max_iter=None,
        random_state=None,
        verbose=0,
        learning_rate="mu",
        eta0=1.0,
        power_t=0.5,
        shuffle=True,
        device=None,
    ):
        self.n_components = n_components
        self.init = init
        self.batch_size = batch_size
        self.beta_loss = beta_loss
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.max_iter = max_iter
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.forget_factor = forget_factor
        self.fresh_restarts = fresh_restarts
        self.fresh_restarts_max_iter = fresh_restarts_max_iter
        self.transform_max_iter = transform_max_iter
        self.random_state = random_state
        self.verbose = verbose
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.shuffle = shuffle
        self.device = device

    def partial_fit(self, X, y=None, W=None, H=None, *, mask=None, fixed_components=None):
        """Update the model with one chunk of rows (streaming), as a minibatch.

        The chunk is processed as :class:`~sklearn.decomposition.MiniBatchNMF`'s
        ``partial_fit`` processes it: its W is solved with the current H (at most
        ``fresh_restarts_max_iter`` iterations), then H takes one step on the
        statistics of all the chunks seen (the earlier ones rescaled by the
        forget factor). A chunk larger than ``batch_size`` is processed as its
        minibatches, in order. The first call initializes H from its chunk (as
        ``fit`` would; ``H`` with ``init='custom'``). Memory is bounded by the
        chunk: nothing of earlier chunks is kept but the statistics.
        The first chunk must hold a non-zero observed entry (unless
        ``init='custom'``): H started from zeros would stay zero. Later chunks
        must have the model's dtype (a float32 chunk for a float64 model is
        refused: cast it); integer and boolean chunks are converted to it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of data. Sparse X is never densified.
        y : Ignored
            Not used, present for API consistency by convention.
        W : array-like of shape (n_samples, n_components), default=None
            With ``init='custom'``, the initial W of the first chunk (needed by
            the custom start, as in scikit-learn, then solved again).
        H : array-like of shape (n_components, n_features), default=None
            With ``init='custom'``, the initial H (first call only); with
            ``fixed_components``, the fixed rows (as in ``fit``).
        mask : {array-like, sparse matrix} of shape (n_samples, n_features), \
                default=None
            True where an entry of the chunk is observed, False where it is
            missing (NaN entries of a dense chunk are missing too).
        fixed_components : array-like of int, default=None
            First call only: components whose rows of H stay fixed (as in
            ``fit``); they stay fixed in every later call, as after ``fit``.

        Returns
        -------
        self : object
            Returns the instance itself.
        """
        validate_params(self)
        first = not hasattr(self, "components_")
        # a later chunk of integers or booleans takes the model's dtype (as in
        # MiniBatchNMF, whose model keeps its dtype: the validation converts only
        # non-float X to ``dtype``); one of the other float dtype is refused, as one of
        # another feature count is
        model_dtype = None if first else self.components_.dtype
        with self._refitting() as attributes:
            data = self._data(X, mask, self._backend(), reset=first, method="partial_fit",
                              dtype=model_dtype)
            if not first and data.dtype != model_dtype:
                raise ValueError(
                    f"X has dtype {np.dtype(data.dtype).name}, but {type(self).__name__} "
                    f"was fitted on {np.dtype(model_dtype).name} data (components_ is "
                    f"{np.dtype(model_dtype).name}): cast the chunk first, for example "
                    f"X.astype(np.{np.dtype(model_dtype).name}); partial_fit never "
                    "changes the model's dtype."
                )
            attributes.update(self._partial_fit_data(data, first, W, H, fixed_components))
        return self

    # -- the work ---------------------------------------------------------------
    def _beta(self):
        beta = beta_from_loss(self.beta_loss)
        if beta != 2 and self.learning_rate != "mu":
            raise ValueError(
                f"learning_rate={self.learning_rate!r} needs beta_loss='frobenius'; "
                f"other beta losses take multiplicative steps: use learning_rate='mu'."
            )
        return beta

    def _transform_iterations(self):
        return int(self.max_iter if self.transform_max_iter is None else self.transform_max_iter)

    def _batches(self, data, rng, shuffle):
        """The minibatches (a data matrix each) of the rows of X, once shuffled."""
        X, mask = data.host, data.host_mask
        n_samples = X.shape[0]
        batch_size = min(self.batch_size, n_samples)
        # one batch: its row order changes nothing but the rounding
        if shuffle and batch_size < n_samples:
            order = rng.permutation(n_samples)
        else:
            order = np.arange(n_samples)
        blocks = [(start, min(start + batch_size, n_samples))
                  for start in range(0, n_samples, batch_size)]
        return order, blocks, [
            data.backend.data_matrix(X[order[a:b]], None if mask is None else mask[order[a:b]])
            for a, b in blocks
        ]

    def _steps(self, data, Ht, statistics, rho, beta, fixed, transform_scale, scale):
        """The minibatch step on the working data ``X / scale`` (``data``)."""
        n_features = data.shape[1]
        floor, eps = floors(data.dtype, data.max_value)

        def penalties(n_rows):
            return self._regularization(n_rows, n_features, scale)

        def solve(batch, Ht, max_iter):
            return self._solve_W(batch, Ht, max_iter, transform_scale, scale)

        return MinibatchSteps(
            Ht, statistics, beta=beta, rho=rho, penalties=penalties,
            learning_rate=self.learning_rate, eta0=self.eta0, power_t=self.power_t,
            floor=floor, eps=eps, fresh_restarts=self.fresh_restarts,
            fresh_restarts_max_iter=int(self.fresh_restarts_max_iter), solve_W=solve,
            B=data.backend, fixed=fixed,
        )

    def _check_memory(self, data, n_components, beta):
        if data.mask is not None and beta == 2:
            check_per_row_grams_fit_in_memory(n_components, data.shape, data.dtype,
                                              f"{type(self).__name__}.fit")

    def _fit_data(self, data, W=None, H=None, fixed_components=None):
        n_samples, n_features = data.shape
        backend = data.backend
        beta = self._beta()
        check_zeros_for_beta(data, beta)
        n_components = self._resolved_n_components(n_features, W, H, fixed_components)
        self._check_memory(data, n_components, beta)
        self._check_solve_memory(data, n_components, beta, "fit")  # the last solve of W
        # X of a scale far from 1 (outside [2**-10, 2**10)) is fitted as X / scale, a
        # power of 4**10, with the factors divided by sqrt(scale), as MUNMF does; 1
        # for ordinary data
        scale = banded_scale(data, beta)
        work = divided(data, scale)
        W0, H0, fixed = self._start(work, W, H, n_components, fixed_components)
        W0, H0 = scaled_start(W0, H0, fixed, resolve_init(self.init, n_components,
                                                          n_samples, n_features), scale)
        rng = check_random_state(self.random_state)
        order, blocks, batches = self._batches(work, rng, self.shuffle)
        Ws = [backend.from_numpy(W0[order[a:b]]) for a, b in blocks]
        Ht = backend.from_numpy(np.ascontiguousarray(H0.T))
        del W0, H0  # only their row blocks and transpose are used
        rho = forget_rate(self.forget_factor, blocks[0][1] - blocks[0][0], n_samples)
        transform_scale = scale_from_sum(work.total, work.n_observed, n_components)
        steps = self._steps(work, Ht, initial_statistics(Ht, beta, backend), rho, beta, fixed,
                            transform_scale, scale)
        factor = objective_factor(scale, beta)
        report = self._reporter("epoch")
        Ws, n_steps, history, converged = minibatch_nmf(
            batches, Ws, steps, n_samples=n_samples, max_iter=int(self.max_iter), tol=self.tol,
            max_no_improvement=self.max_no_improvement, rng=rng, shuffle=self.shuffle,
            B=backend, callback=report if scale == 1.0 else (
                lambda n_epoch, cost: report(n_epoch, cost * factor)),
        )
        del batches, Ws
        n_iter = math.ceil(n_steps / len(blocks))
        W_final = self._solve_W(work, steps.Ht, self._transform_iterations(), transform_scale,
                                scale)
        error = _error(work, W_final, steps.Ht, beta, factor)
        Ht = steps.Ht
        if scale != 1.0:  # back to X's scale, exactly (powers of 2)
            root = math.sqrt(scale)
            Ht, W_final = Ht * root, W_final * root
            history = [(i, cost * factor) for i, cost in history]
        attributes = self._factorization_attributes(Ht, fixed, n_iter, history, converged,
                                                    backend)
        attributes.update(self._statistics(steps, backend))
        attributes.update({
            "n_steps_": int(n_steps),
            "reconstruction_err_": error,
            "_rho": rho,
            "_transform_scale": transform_scale,
            "_scale": scale,
        })
        return attributes, backend.to_numpy(W_final)

    def _partial_fit_data(self, data, first, W, H, fixed_components):
        n_rows, n_features = data.shape
        backend = data.backend
        beta = self._beta()
        check_zeros_for_beta(data, beta)
        if first:
            if not data.max_value > 0 and self.init != "custom":
                # the start from an all-zero chunk is H = 0, which no later step leaves
                raise ValueError(
                    f"The first chunk passed to {type(self).__name__}.partial_fit is all "
                    "zero (every observed entry is 0): H starts from the first chunk, "
                    "and from zeros it would stay zero whatever the later chunks hold. "
                    "Start with a chunk that has a non-zero entry (or give the start, "
                    "init='custom' with W and H)."
                )
            n_components = self._resolved_n_components(n_features, W, H, fixed_components)
            self._check_memory(data, n_components, beta)
            # the working scale of the stream: the first chunk's (as fit's)
            scale = banded_scale(data, beta)
            work = divided(data, scale)
            W0, H0, fixed = self._start(work, W, H, n_components, fixed_components)
            _, H0 = scaled_start(W0, H0, fixed, resolve_init(self.init, n_components,
                                                             n_rows, n_features), scale)
            Ht = backend.from_numpy(np.ascontiguousarray(H0.T))
            statistics = initial_statistics(Ht, beta, backend)
            rho = forget_rate(self.forget_factor, min(self.batch_size, n_rows), n_rows)
            transform_scale = scale_from_sum(work.total, work.n_observed, n_components)
            n_steps = 0
        else:
            if fixed_components is not None:
                raise ValueError(
                    "fixed_components can be given to the first partial_fit only; the "
                    "components fixed then stay fixed (see fixed_components_)."
                )
            n_components = self.n_components_
            self._check_memory(data, n_components, beta)
            fixed = self.fixed_components_ if self.fixed_components_.size else None
            scale = self._scale
            work = divided(data, scale)
            H = self.components_ if scale == 1.0 else self.components_ / math.sqrt(scale)
            Ht = backend.from_numpy(np.ascontiguousarray(H.T, dtype=data.dtype))
            statistics = {name: value if isinstance(value, float)
                          else backend.from_numpy(value.astype(data.dtype))
                          for name, value in self._statistics_.items()}
            rho, transform_scale, n_steps = self._rho, self._transform_scale, self.n_steps_
        _, _, batches = self._batches(work, None, shuffle=False)
        steps = self._steps(work, Ht, statistics, rho, beta, fixed, transform_scale, scale)
        divergence, costs = 0.0, []
        for batch in batches:
            W_b, cost = steps(batch, None)
            costs.append(cost)
            divergence += backend.scalar(beta_divergence(
                batch, W_b, steps.Ht, beta=beta, eps=steps.eps))
        factor = objective_factor(scale, beta)
        history = [(1, float(np.mean(costs)) * factor)]
        Ht = steps.Ht if scale == 1.0 else steps.Ht * math.sqrt(scale)
        attributes = self._factorization_attributes(Ht, fixed, 1, history, True, backend)
        attributes.update(self._statistics(steps, backend))
        attributes.update({
            "n_steps_": int(n_steps + len(batches)),
            "reconstruction_err_": error_from_divergence(divergence * factor),
            "_rho": rho,
            "_transform_scale": transform_scale,
            "_scale": scale,
        })
        return attributes

    def _statistics(self, steps, backend):
        """The statistics of H's surrogate, so that partial_fit can go on after fit (of
        the working data X / _scale and H / sqrt(_scale))."""
        return {"_statistics_": {
            name: float(value) if isinstance(value, float)
            else backend.to_numpy(value).astype(np.float64)
            for name, value in steps.statistics.items()}}

    def _regularization(self, n_samples, n_features, scale=1.0):
        """The penalty weights of the problem on ``X / scale`` (``scaled_regularization``:
        the same minimization as on X)."""
        weights = super()._regularization(n_samples, n_features)
        return scaled_regularization(weights, scale, beta_from_loss(self.beta_loss))

    def _solve_W(self, data, Ht, max_iter, transform_scale, scale=1.0):
        """W for fixed H on the working data ``X / scale`` with ``H / sqrt(scale)``."""
        n_samples, n_features = data.shape
        l1_W, l2_W, _, _ = self._regularization(n_samples, n_features, scale)
        return solve_W(data, Ht, beta=beta_from_loss(self.beta_loss), l1=l1_W, l2=l2_W,
                       max_iter=max_iter, tol=self.tol, scale=transform_scale)

    def _transform_data(self, data):
        beta = beta_from_loss(self.beta_loss)
        check_zeros_for_beta(data, beta)
        self._check_solve_memory(data, self.n_components_, beta, "transform")
        backend = data.backend
        scale = self._scale
        H = self.components_ if scale == 1.0 else self.components_ / math.sqrt(scale)
        Ht = backend.from_numpy(np.ascontiguousarray(H.T, dtype=data.dtype))
        W = self._solve_W(divided(data, scale), Ht, self._transform_iterations(),
                          self._transform_scale, scale)
        if scale != 1.0:
            W = W * math.sqrt(scale)  # a power of 2: exact
        return backend.to_numpy(W)


def _error(data, W, Ht, beta, factor=1.0):
    """``sqrt(2 * d_beta(X, W H))`` over the observed entries, the divergence on the
    working data times ``factor`` (``objective_factor``: that of X)."""
    eps = floors(data.dtype, data.max_value)[1]
    divergence = data.sum_blocks(beta_divergence, W, Ht=Ht, beta=beta, eps=eps)
    divergence = data.backend.scalar(divergence)
    return error_from_divergence(divergence if factor == 1.0 else divergence * factor)
