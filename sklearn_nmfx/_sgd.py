"""SGDNMF: minibatch (online) non-negative matrix factorization, with ``partial_fit``."""

import copy

import numpy as np
from sklearn.utils import check_random_state

from ._base import NMFBase
from ._kernels.hals import solve_rows_hals
from ._kernels.init import INIT_METHODS
from ._kernels.losses import beta_divergence, error_from_divergence
from ._kernels.minibatch import LEARNING_RATES, decayed_statistics, minibatch_nmf
from ._validation import Integral, Interval, Real, StrOptions, validate_params


class SGDNMF(NMFBase):
    """Non-negative matrix factorization by minibatch (online) projected gradient.

    Find two non-negative matrices W and H whose product approximates the
    non-negative matrix X, ``X ~ W @ H``, by minimizing the Frobenius loss plus
    the elementwise L1/L2 penalties of :class:`sklearn.decomposition.NMF`::

        0.5 * ||X - WH||_F^2
        + alpha_W * l1_ratio * n_features * ||W||_1
        + 0.5 * alpha_W * (1 - l1_ratio) * n_features * ||W||_F^2
        + alpha_H * l1_ratio * n_samples * ||H||_1
        + 0.5 * alpha_H * (1 - l1_ratio) * n_samples * ||H||_F^2

    one minibatch of rows at a time (online matrix factorization, Mairal et al.
    2010). For each minibatch ``X_b`` the rows ``W_b`` are solved with H fixed
    (a few HALS sweeps, i.e. projected coordinate steps of size ``1 / L`` with
    ``L`` the Lipschitz constant of each column), the statistics ``A = W^T W``
    and ``B = W^T X`` are updated, and H takes a projected gradient step on
    ``0.5 tr(H^T A H) - tr(H^T B)``. Non-negativity is kept by projection
    (``max(0, .)``), never by a penalty. In ``fit`` the statistics of a batch are
    replaced when the batch is visited again, so every step uses the exact
    gradient of the whole objective in H: the objective never increases (with
    the default ``learning_rate``) and the epochs converge. In ``partial_fit``
    (streaming) the statistics of earlier chunks decay by ``forget_factor``, and
    memory stays bounded by the chunk.

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

    learning_rate : {'lipschitz', 'constant', 'invscaling', 'adaptive'}, \
            default='lipschitz'
        Step size of the H updates:

        - 'lipschitz': a HALS sweep over the rows of H, each with the step
          ``1 / A_jj``, the Lipschitz constant of that row's block (the exact
          minimizer along it). No step size to tune; the objective never
          increases.
        - 'constant': full projected gradient steps ``eta0 / L``, with ``L`` the
          largest eigenvalue of ``A`` (converges for ``eta0 < 2``).
        - 'invscaling': steps ``eta0 / t ** power_t / L``, t the epoch.
        - 'adaptive': steps ``eta0 / L`` while the objective keeps falling; after
          ``n_iter_no_change`` epochs without improvement ``eta`` is divided by
          5 (as in :class:`sklearn.linear_model.SGDRegressor`), and the fit
          stops once it is below 1e-6.

    eta0 : float, default=1.0
        Initial step, relative to ``1 / L``, of the gradient learning rates
        (unused with 'lipschitz').

    power_t : float, default=0.5
        Exponent of the 'invscaling' learning rate.

    max_iter : int, default=200
        Maximum number of epochs (passes over the data) of ``fit``, and of passes
        over each chunk in ``partial_fit``. A ``ConvergenceWarning`` is raised
        when ``fit`` reaches it.

    tol : float, default=1e-4
        An epoch improves when ``||X - WH||_F`` (with penalties) falls by at
        least ``tol`` times its initial value.

    n_iter_no_change : int, default=2
        Number of epochs without improvement before the fit stops.

    shuffle : bool, default=True
        Whether to shuffle the rows once and the order of the minibatches at
        every epoch.

    forget_factor : float, default=0.7
        In ``partial_fit``, the weight kept by the statistics of earlier chunks
        each time a chunk of as many rows as seen so far arrives (the weight of
        the past is multiplied by ``forget_factor ** (chunk_rows / rows_seen)``).
        1.0 weighs every row seen equally; smaller values let the topics follow
        a drifting stream. Not used by ``fit``.

    alpha_W : float, default=0.0
        Regularization constant of W (0 for none), scaled by ``n_features``.

    alpha_H : float or 'same', default='same'
        Regularization constant of H, scaled by ``n_samples``; 'same' takes
        ``alpha_W``.

    l1_ratio : float, default=0.0
        Mix of L1 and L2 in the regularization: 0 is an elementwise L2 penalty
        (Frobenius norm), 1 an elementwise L1 penalty.

    random_state : int, RandomState instance or None, default=None
        Seed of the initialization and of the shuffling. Pass an int for
        reproducible results; the same seed gives the same result on every
        device (up to rounding).

    verbose : int, default=0
        Print the objective after every epoch when positive.

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
        Frobenius norm ``||X - WH||_F`` of the training data, with
        ``W = transform(X)`` (after ``fit``), or of the last chunk (after
        ``partial_fit``).

    n_iter_ : int
        Number of epochs run by the last ``fit`` or ``partial_fit``.

    n_steps_ : int
        Number of minibatch steps run in all (``partial_fit`` adds up).

    loss_curve_ : list of float
        The objective at the start and after every epoch of the last ``fit`` or
        ``partial_fit`` (in ``partial_fit`` it includes the statistics of the
        earlier chunks).

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
    ``transform`` solves for W with H fixed: least squares projected on the
    non-negative orthant, then HALS sweeps, each row stopping by itself; the
    result for a row does not depend on the other rows, and ``fit_transform(X)``
    returns exactly ``fit(X).transform(X)``.

    References
    ----------
    Mairal, J., Bach, F., Ponce, J. & Sapiro, G. (2010). Online learning for
    matrix factorization and sparse coding. JMLR 11.

    Lefevre, A., Bach, F. & Fevotte, C. (2011). Online algorithms for
    nonnegative matrix factorization with the Itakura-Saito divergence. WASPAA.

    Cichocki, A. & Phan, A.-H. (2009). Fast local algorithms for large scale
    nonnegative matrix and tensor factorizations. IEICE Transactions 92(3).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_nmfx import SGDNMF
    >>> X = np.array([[1, 1], [2, 1], [3, 1.2], [4, 1], [5, 0.8], [6, 1]])
    >>> model = SGDNMF(n_components=2, batch_size=2, random_state=0)
    >>> W = model.fit_transform(X)
    >>> W.shape, model.components_.shape
    ((6, 2), (2, 2))
    >>> bool(model.reconstruction_err_ < 0.1)
    True
    >>> stream = SGDNMF(n_components=2, random_state=0)
    >>> for chunk in (X[:3], X[3:]):
    ...     stream = stream.partial_fit(chunk)
    >>> stream.components_.shape
    (2, 2)
    >>> X_missing = X.copy()
    >>> X_missing[2, 0] = np.nan  # missing: left out of the fit
    >>> W = model.fit_transform(X_missing, H=np.array([[0.0, 1.0]]), fixed_components=[1])
    >>> model.components_[1].tolist()
    [0.0, 1.0]
    """

    _parameter_constraints = {
        **NMFBase._parameter_constraints,
        "init": [StrOptions(set(INIT_METHODS)), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions(set(LEARNING_RATES))],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "forget_factor": [Interval(Real, 0, 1, closed="right")],
        "alpha_W": [Interval(Real, 0, None, closed="left")],
        "alpha_H": [Interval(Real, 0, None, closed="left"), StrOptions({"same"})],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        n_components="auto",
        *,
        init=None,
        batch_size=1024,
        learning_rate="lipschitz",
        eta0=1.0,
        power_t=0.5,
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=2,
        shuffle=True,
        forget_factor=0.7,
        alpha_W=0.0,
        alpha_H="same",
        l1_ratio=0.0,
        random_state=None,
        verbose=0,
        device=None,
    ):
        self.n_components = n_components
        self.init = init
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.forget_factor = forget_factor
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.random_state = random_state
        self.verbose = verbose
        self.device = device

    def partial_fit(self, X, y=None, W=None, H=None, *, mask=None, fixed_components=None):
        """Update the model with one chunk of rows (streaming).

        The first call initializes the model from its chunk (as ``fit`` would,
        ``W`` and ``H`` with ``init='custom'``). Each later chunk has its W solved
        with the current H, then its minibatches update H, together with the
        statistics of the earlier chunks (weighted by ``forget_factor``). Memory
        is bounded by the chunk: nothing of earlier chunks is kept but the
        ``(n_components, n_features)`` statistics. The penalty on H is scaled by
        the weight of the rows seen (``alpha_H`` times it), where ``fit`` scales
        it by ``n_samples``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of data. Sparse X is never densified.
        y : Ignored
            Not used, present for API consistency by convention.
        W : array-like of shape (n_samples, n_components), default=None
            With ``init='custom'``, the initial W of the first chunk.
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
        with self._refitting() as attributes:
            data = self._data(X, mask, self._backend(), reset=first, method="partial_fit")
            attributes.update(self._partial_fit_data(data, first, W, H, fixed_components))
        return self

    # -- the work ---------------------------------------------------------------
    def _batches(self, data, rng):
        """The minibatches (a data matrix each) of the rows of X, once shuffled."""
        X, mask = data.host, data.host_mask
        n_samples = X.shape[0]
        order = rng.permutation(n_samples) if self.shuffle else np.arange(n_samples)
        batch_size = min(self.batch_size, n_samples)
        blocks = [(start, min(start + batch_size, n_samples))
                  for start in range(0, n_samples, batch_size)]
        return order, blocks, [
            data.backend.data_matrix(X[order[a:b]], None if mask is None else mask[order[a:b]])
            for a, b in blocks
        ]

    def _run(self, batches, Ws, Ht, rng, backend, n_weight, n_features, past, what, fixed):
        l1_W, l2_W, l1_H, l2_H = self._regularization(n_weight, n_features)
        A_past, Bt_past, sq_past = past
        return minibatch_nmf(
            batches, Ws, Ht, A_past=A_past, Bt_past=Bt_past, sq_norm_past=sq_past,
            l1_W=l1_W, l2_W=l2_W, l1_H=l1_H, l2_H=l2_H, max_iter=int(self.max_iter),
            tol=self.tol, n_iter_no_change=int(self.n_iter_no_change),
            learning_rate=self.learning_rate, eta0=self.eta0, power_t=self.power_t,
            rng=rng, shuffle=self.shuffle, B=backend, fixed=fixed,
            callback=self._reporter(f"{what} epoch"),
        )

    def _fit_data(self, data, W=None, H=None, fixed_components=None):
        n_samples, n_features = data.shape
        backend = data.backend
        n_components = self._resolved_n_components(n_features, W, H, fixed_components)
        W0, H0, fixed = self._start(data, W, H, n_components, fixed_components)
        rng = check_random_state(self.random_state)
        order, blocks, batches = self._batches(data, rng)
        Ws = [backend.from_numpy(W0[order[a:b]]) for a, b in blocks]
        Ht = backend.from_numpy(np.ascontiguousarray(H0.T))
        del W0, H0  # only their row blocks and transpose are used
        Ws, Ht, A, Bt, sq_norm, n_epochs, n_steps, history, converged = self._run(
            batches, Ws, Ht, rng, backend, n_samples, n_features, (None, None, 0.0), "fit",
            fixed,
        )
        del batches, Ws
        W_final = self._solve_W(data, Ht)
        attributes = self._factorization_attributes(Ht, fixed, n_epochs, history, converged,
                                                    backend)
        attributes.update(self._statistics(A, Bt, sq_norm, float(n_samples), backend))
        attributes.update({
            "n_steps_": int(n_steps),
            "reconstruction_err_": _frobenius_error(data, W_final, Ht),
            "_rng": rng,
        })
        return attributes, backend.to_numpy(W_final)

    def _partial_fit_data(self, data, first, W, H, fixed_components):
        n_rows, n_features = data.shape
        backend = data.backend
        # a copy: an interrupted partial_fit must leave the fitted _rng as it was
        rng = check_random_state(self.random_state) if first else copy.deepcopy(self._rng)
        if first:
            n_components = self._resolved_n_components(n_features, W, H, fixed_components)
            W0, H0, fixed = self._start(data, W, H, n_components, fixed_components)
            past, n_weight, n_steps = (None, None, 0.0), float(n_rows), 0
        else:
            if fixed_components is not None:
                raise ValueError(
                    "fixed_components can be given to the first partial_fit only; the "
                    "components fixed then stay fixed (see fixed_components_)."
                )
            fixed = self.fixed_components_ if self.fixed_components_.size else None
            H0 = self.components_.astype(data.dtype, copy=False)
            (A, Bt, sq_norm), n_weight = decayed_statistics(
                (self._A, self._Bt, self._sq_norm, self._n_seen), n_rows, self.forget_factor)
            past = (backend.from_numpy(A.astype(data.dtype)),
                    backend.from_numpy(Bt.astype(data.dtype)), sq_norm)
            n_steps = self.n_steps_
        order, blocks, batches = self._batches(data, rng)
        Ht = backend.from_numpy(np.ascontiguousarray(H0.T))
        if first:
            Ws = [backend.from_numpy(W0[order[a:b]]) for a, b in blocks]
        else:
            Ws = [self._solve_W(batch, Ht, max_sweeps=10) for batch in batches]
        Ws, Ht, A, Bt, sq_norm, n_epochs, chunk_steps, history, _ = self._run(
            batches, Ws, Ht, rng, backend, n_weight, n_features, past, "partial_fit", fixed
        )
        chunk_objective = 0.0
        for batch, W_b in zip(batches, Ws):
            chunk_objective += backend.scalar(_frobenius_half(batch, W_b, Ht))
        attributes = self._factorization_attributes(Ht, fixed, n_epochs, history, True, backend)
        attributes.update(self._statistics(A, Bt, sq_norm, n_weight, backend))
        attributes.update({
            "n_steps_": int(n_steps + chunk_steps),
            "reconstruction_err_": error_from_divergence(chunk_objective),
            "_rng": rng,
        })
        return attributes

    def _statistics(self, A, Bt, sq_norm, n_weight, backend):
        """The sufficient statistics, so that partial_fit can go on after fit."""
        return {
            "_A": backend.to_numpy(A).astype(np.float64),
            "_Bt": backend.to_numpy(Bt).astype(np.float64),
            "_sq_norm": float(sq_norm),
            "_n_seen": float(n_weight),
        }

    def _solve_W(self, data, Ht, max_sweeps=None):
        n_samples, n_features = data.shape
        l1_W, l2_W, _, _ = self._regularization(n_samples, n_features)
        return solve_rows_hals(
            data, Ht, l1=l1_W, l2=l2_W,
            max_sweeps=int(self.max_iter) if max_sweeps is None else max_sweeps, tol=self.tol,
        )

    def _transform_data(self, data):
        backend = data.backend
        Ht = backend.from_numpy(np.ascontiguousarray(self.components_.T, dtype=data.dtype))
        return backend.to_numpy(self._solve_W(data, Ht))


def _frobenius_half(data, W, Ht):
    """0.5 ||X - W H||^2 over the observed entries."""
    return beta_divergence(data, W, Ht, beta=2.0, eps=0.0)


def _frobenius_error(data, W, Ht):
    return error_from_divergence(data.backend.scalar(_frobenius_half(data, W, Ht)))
