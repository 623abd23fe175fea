"""AutogradNMF: NMF by PyTorch autograd and a torch optimizer.

torch is imported when an AutogradNMF is fitted or used, never on import.
"""

import math

import numpy as np

from ._base import NMFBase, divided, scaled_regularization, scaled_start, working_scale
from ._kernels.autograd import CONSTRAINTS, OPTIMIZERS
from ._kernels.hals import least_squares_start, row_grams
from ._kernels.init import INIT_METHODS, resolve_init
from ._kernels.losses import BETA_LOSS_NAMES, beta_from_loss, error_from_divergence
from ._kernels.mu import floors
from ._kernels.solve import scale_from_sum, solve_W
from ._validation import Integral, Interval, Real, StrOptions, check_zeros_for_beta


def _is_optimizer_class(value):
    return isinstance(value, type) and any(
        base.__name__ == "Optimizer" and base.__module__.startswith("torch.optim")
        for base in value.__mro__
    )


class AutogradNMF(NMFBase):
    """Non-negative matrix factorization by PyTorch autograd and a torch optimizer.

    Find two non-negative matrices W and H whose product approximates the
    non-negative matrix X, ``X ~ W @ H``, by minimizing a loss plus the
    elementwise L1/L2 penalties of :class:`sklearn.decomposition.NMF`::

        loss(X, WH)
        + alpha_W * l1_ratio * n_features * ||W||_1
        + 0.5 * alpha_W * (1 - l1_ratio) * n_features * ||W||_F^2
        + alpha_H * l1_ratio * n_samples * ||H||_1
        + 0.5 * alpha_H * (1 - l1_ratio) * n_samples * ||H||_F^2

    where the loss is a beta divergence or any differentiable function of X and
    WH. The gradient comes from PyTorch's autograd and the steps from a torch
    optimizer (Adam by default, with a learning rate that decays when the
    objective stops falling). The factors stay non-negative by projection after
    every step, or by a reparametrization. Sparse X is never densified by the
    built-in losses: the Frobenius loss is computed as ``||X||^2 - 2 <X, WH> +
    <W^T W, H H^T>`` with ``<X, WH>`` over the stored entries only.

    Needs PyTorch (``pip install 'sklearn-nmfx[torch]'``); runs on any torch
    device.

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

    beta_loss : float, {'frobenius', 'kullback-leibler', 'itakura-saito'} or \
            callable, default='frobenius'
        The loss: a beta divergence ('frobenius' is ``0.5 ||X - WH||^2``,
        'kullback-leibler', 'itakura-saito', or any float beta), or a callable
        ``loss(X, WH) -> scalar tensor`` (it receives X and WH as dense torch
        tensors). For ``beta_loss <= 0`` X must not contain zeros.

    optimizer : {'adam', 'lbfgs', 'sgd'} or torch.optim.Optimizer subclass, \
            default='adam'
        The torch optimizer: ``torch.optim.Adam``, ``torch.optim.LBFGS`` (one
        inner step per iteration), ``torch.optim.SGD``, or any optimizer class,
        built with ``optimizer_kwargs``.

    optimizer_kwargs : dict, default=None
        Extra arguments of the optimizer (for example ``{"amsgrad": True}`` or
        ``{"momentum": 0.9}``); an ``lr`` here overrides ``learning_rate``. With
        'adam', ``betas`` defaults to ``(0.8, 0.9)`` rather than torch's ``(0.9,
        0.999)``: the gradient is exact, not a minibatch's, and shorter moment
        averages let the steps grow as the fit settles.

    learning_rate : float or 'auto', default='auto'
        The optimizer's initial learning rate. 'auto' scales it to the data:
        with Adam, 0.1 times the largest entry of each factor's start (Adam
        steps by about lr per entry, whatever the gradient's scale); with
        SGD, the inverse of the Lipschitz constant of each factor's Frobenius
        gradient; 1 with L-BFGS; 1e-3 for other optimizer classes.

    decay : float, default=0.5
        Factor applied to the learning rate each time the objective stops
        falling (a decaying step makes Adam converge).

    nonnegativity : {'project', 'softplus', 'exp'}, default='project'
        How W and H stay non-negative: 'project' clamps them at 0 after every
        step (exact zeros, sparse topics); 'softplus' and 'exp' optimize an
        unconstrained parameter P with ``W = softplus(P)`` or ``exp(P)``
        (strictly positive; the gradient vanishes near zero, so it is slower).

    max_iter : int, default=2000
        Maximum number of optimizer steps (a ``ConvergenceWarning`` is raised
        when reached). ``transform`` runs at most ``max_iter`` steps (sweeps or
        multiplicative steps for the built-in losses).

    tol : float, default=1e-4
        Every 10 steps, the objective has stalled when ``sqrt(2 * objective)``
        fell by less than ``tol`` times its initial value; the learning rate is
        then multiplied by ``decay``. In ``transform``, each row stops once it
        moves by less than ``tol`` relative to its norm.

    n_iter_no_change : int, default=5
        The fit stops after this many stalls in a row (learning-rate decays
        without improvement).

    alpha_W : float, default=0.0
        Regularization constant of W (0 for none), scaled by ``n_features``.

    alpha_H : float or 'same', default='same'
        Regularization constant of H, scaled by ``n_samples``; 'same' takes
        ``alpha_W``.

    l1_ratio : float, default=0.0
        Mix of L1 and L2 in the regularization: 0 is an elementwise L2 penalty
        (Frobenius norm), 1 an elementwise L1 penalty.

    random_state : int, RandomState instance or None, default=None
        Seed of the initialization (drawn in NumPy, the same on every device).

    verbose : int, default=0
        Print the objective every 10 steps when positive.

    device : None, str or torch.device, default=None
        The torch device: None or 'cpu' (PyTorch on the CPU), 'torch', 'cuda',
        'cuda:1', 'mps' or a ``torch.device``. Fitted attributes are NumPy
        arrays whatever the device.

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
        ``sqrt(2 * loss(X, WH))`` with ``W = transform(X)``: the Frobenius norm
        ``||X - WH||_F`` for the default loss.

    n_iter_ : int
        Number of optimizer steps run.

    loss_curve_ : list of float
        The objective at the start and every 10 steps.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has feature names that are all
        strings.

    See Also
    --------
    MUNMF : Batch NMF by multiplicative updates (monotone, no learning rate).
    SGDNMF : Minibatch NMF with ``partial_fit``.

    Notes
    -----
    ``transform`` solves W with H frozen row by row, as :class:`MUNMF` does, for
    the built-in losses (projected least squares then HALS for the Frobenius loss,
    multiplicative steps for the other beta divergences, each row stopping by
    itself), whatever the optimizer: the result for a row does not depend on the
    other rows, and ``fit_transform(X)`` returns exactly ``fit(X).transform(X)``.
    With a callable loss W is fitted by the optimizer from the non-negative
    least-squares start ``max(0, X H^T (H H^T)^-1)``, its learning rate decaying
    on a fixed schedule and each row stopping by itself; rows are then
    independent when the loss is a sum over the entries and the optimizer steps
    entries apart (Adam, SGD), not with L-BFGS, whose line search is shared.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_nmfx import AutogradNMF
    >>> X = np.array([[1, 1], [2, 1], [3, 1.2], [4, 1], [5, 0.8], [6, 1]])
    >>> model = AutogradNMF(n_components=2, init="random", random_state=0)
    >>> W = model.fit_transform(X)
    >>> W.shape, model.components_.shape
    ((6, 2), (2, 2))
    >>> bool(model.reconstruction_err_ < 0.1)
    True
    >>> X_missing = X.copy()
    >>> X_missing[2, 0] = np.nan  # missing: left out of the loss
    >>> W = model.fit_transform(X_missing, H=np.array([[0.0, 1.0]]), fixed_components=[1])
    >>> model.components_[1].tolist()
    [0.0, 1.0]
    """

    _requires_torch = True

    _parameter_constraints = {
        **NMFBase._parameter_constraints,
        "init": [StrOptions(set(INIT_METHODS)), None],
        "beta_loss": [StrOptions(set(BETA_LOSS_NAMES)),
                      Interval(Real, None, None, closed="neither"), callable],
        "optimizer": [StrOptions(set(OPTIMIZERS)), type],
        "optimizer_kwargs": [dict, None],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "decay": [Interval(Real, 0, 1, closed="right")],
        "nonnegativity": [StrOptions(set(CONSTRAINTS))],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "alpha_W": [Interval(Real, 0, None, closed="left")],
        "alpha_H": [Interval(Real, 0, None, closed="left"), StrOptions({"same"})],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        n_components="auto",
        *,
        init=None,
        beta_loss="frobenius",
        optimizer="adam",
        optimizer_kwargs=None,
        learning_rate="auto",
        decay=0.5,
        nonnegativity="project",
        max_iter=2000,
        tol=1e-4,
        n_iter_no_change=5,
        alpha_W=0.0,
        alpha_H="same",
        l1_ratio=0.0,
        random_state=None,
        verbose=0,
        device=None,
    ):
        self.n_components = n_components
        self.init = init
        self.beta_loss = beta_loss
        self.optimizer = optimizer
        self.optimizer_kwargs = optimizer_kwargs
        self.learning_rate = learning_rate
        self.decay = decay
        self.nonnegativity = nonnegativity
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.random_state = random_state
        self.verbose = verbose
        self.device = device

    # -- the work ---------------------------------------------------------------
    def _beta(self):
        return None if callable(self.beta_loss) else beta_from_loss(self.beta_loss)

    def _check_optimizer(self):
        if not isinstance(self.optimizer, str) and not _is_optimizer_class(self.optimizer):
            raise ValueError(
                "optimizer must be 'adam', 'lbfgs', 'sgd' or a torch.optim.Optimizer "
                f"subclass; got {self.optimizer!r}."
            )

    def _objective(self, data, fixed_Ht=None, penalties=True, scale=1.0, max_value=None):
        """The objective on the working data; the floor of W H inside logs and negative
        powers follows ``max_value`` (the working data's largest entry at fit time,
        so that a row's transform does not depend on the other rows)."""
        from ._kernels.autograd import Objective

        l1_W, l2_W, l1_H, l2_H = (self._regularization(*data.shape, scale=scale) if penalties
                                  else (0.0,) * 4)
        _, eps = floors(np.dtype(np.float32),
                        data.max_value if max_value is None else max_value)
        return Objective(
            data, beta=self._beta(), user_loss=self.beta_loss if callable(self.beta_loss) else None,
            l1_W=l1_W, l2_W=l2_W, l1_H=l1_H, l2_H=l2_H, eps=eps, B=data.backend,
            fixed_Ht=fixed_Ht,
        )

    def _regularization(self, n_samples, n_features, scale=1.0):
        """The penalty weights of the problem on ``X / scale`` (``scaled_regularization``)."""
        weights = super()._regularization(n_samples, n_features)
        return scaled_regularization(weights, scale, self._beta())

    def _run(self, objective, W, Ht, floor, learning_rate=None, **kwargs):
        from ._kernels.autograd import autograd_nmf

        return autograd_nmf(
            objective, W, Ht, optimizer=self.optimizer, optimizer_kwargs=self.optimizer_kwargs,
            learning_rate=self.learning_rate if learning_rate is None else learning_rate,
            constraint=self.nonnegativity,
            max_iter=int(self.max_iter), tol=self.tol,
            n_iter_no_change=int(self.n_iter_no_change), decay=self.decay, floor=floor, **kwargs,
        )

    def _fit_data(self, data, W=None, H=None, fixed_components=None):
        self._check_optimizer()
        beta = self._beta()
        if beta is not None:
            check_zeros_for_beta(data, beta)
        backend = data.backend
        n_components = self._resolved_n_components(data.shape[1], W, H, fixed_components)
        # up front: the solve of W at the end builds per-row Gram matrices
        self._check_solve_memory(data, n_components, beta, "fit")
        # the fit runs on X / scale (a power of 4 near X's largest entry) with the
        # factors divided by sqrt(scale): the start (NNDSVDa fills zeros with X's mean),
        # the steps and the floors then follow X's scale
        scale = working_scale(data, beta)
        root = math.sqrt(scale)  # a power of 2: the scalings are exact
        work = divided(data, scale)
        W0, H0, fixed = self._start(work, W, H, n_components, fixed_components)
        W0, H0 = scaled_start(W0, H0, fixed, resolve_init(self.init, n_components, *data.shape),
                              scale)
        floor = _positive_floor(work)
        report = self._reporter("step")
        objective_scale = 1.0 if scale == 1.0 else scale ** beta
        _, Ht, n_iter, history, converged, rates = self._run(
            self._objective(work, scale=scale), backend.from_numpy(W0),
            backend.from_numpy(np.ascontiguousarray(H0.T)), floor,
            fixed=None if fixed is None else backend.bool_array(
                np.isin(np.arange(n_components), fixed)),
            callback=lambda n_iter, value: report(n_iter, value * objective_scale),
        )
        # the lr of W, kept for transform: rows then do not depend on each other
        W_rate = rates[0]
        solved = {"_floor": floor, "_W_learning_rate": W_rate, "_scale": scale,
                  "_fit_max_value": work.max_value,
                  "_transform_start": scale_from_sum(work.total, work.n_observed,
                                                     n_components)}
        W_final, divergence = self._solve_W(work, Ht, solved)
        if scale != 1.0:
            Ht, W_final = Ht * root, W_final * root
            history = [(i, value * objective_scale) for i, value in history]
            divergence = divergence * objective_scale
        attributes = self._factorization_attributes(Ht, fixed, n_iter, history, converged,
                                                    backend)
        attributes.update({"reconstruction_err_": error_from_divergence(divergence), **solved})
        return attributes, backend.to_numpy(W_final)

    def _solve_W(self, data, Ht, solved):
        """W with H frozen, for the working data (X / scale) and H / sqrt(scale).

        A built-in loss takes the row-by-row solve of MUNMF (``solve.solve_W``:
        projected least squares and HALS for the Frobenius loss, MU steps for the
        other beta divergences, each row stopping by itself), whatever the optimizer:
        a row's W then never depends on the other rows of the batch (an optimizer's
        line search or a reparametrization couples them). A callable loss takes the
        least-squares start, then the optimizer on W alone.

        Returns W and the loss (without penalties) of X against W H."""
        backend = data.backend
        torch = backend.torch
        scale, floor = solved["_scale"], solved["_floor"]
        max_value = solved["_fit_max_value"]
        l1_W, l2_W, _, _ = self._regularization(*data.shape, scale=scale)
        beta = self._beta()
        if beta is not None:
            W = solve_W(data, Ht, beta=beta, l1=l1_W, l2=l2_W, max_iter=int(self.max_iter),
                        tol=self.tol, scale=solved["_transform_start"])
            if self.nonnegativity != "project":
                W = torch.clamp(W, min=floor)  # the parametrizations' W is positive
        else:
            objective = self._objective(data, fixed_Ht=Ht, scale=scale, max_value=max_value)
            XHt = objective.XHt if objective.XHt is not None else data.matmul(Ht)
            W = least_squares_start(XHt, row_grams(data, Ht, backend), l1=l1_W, l2=l2_W,
                                    B=backend)
            W = torch.clamp(W, min=floor)  # strictly positive start for logs, powers
            W = self._run(objective, W, Ht, floor, learning_rate=[solved["_W_learning_rate"]],
                          update_H=False, row_tol=self.tol)[0]
        with torch.no_grad():
            divergence = self._objective(data, fixed_Ht=Ht, penalties=False,
                                         max_value=max_value).evaluate(W, Ht, backward=False)
        return W, divergence

    def _transform_data(self, data):
        beta = self._beta()
        if beta is not None:
            check_zeros_for_beta(data, beta)
        self._check_solve_memory(data, self.n_components_, beta, "transform")
        backend = data.backend
        solved = {name: getattr(self, name) for name in
                  ("_floor", "_W_learning_rate", "_scale", "_fit_max_value",
                   "_transform_start")}
        root = math.sqrt(self._scale)  # a power of 2 (1 mostly): exact scalings
        Ht = backend.from_numpy(np.ascontiguousarray(self.components_.T / root,
                                                     dtype=data.dtype))
        W, _ = self._solve_W(divided(data, self._scale), Ht, solved)
        return backend.to_numpy(W * root)


def _positive_floor(data):
    """A tiny positive value, relative to X's scale, for strictly positive starts."""
    mean = data.total / max(data.shape[0] * data.shape[1], 1)
    return max(1e-6 * mean, float(np.finfo(data.dtype).tiny))
