"""The base class shared by every estimator of the package.

It holds what does not depend on the algorithm: parameter validation, input checks
(X validated once, then wrapped in one data matrix for the kernels), the ``device``
parameter, the fit -> kernel template (fitted attributes are set all at once at the
end, so a failed or interrupted fit leaves the estimator as it was), ``transform``,
``fit_transform``, ``inverse_transform``, ``score``, feature names and tags, and
for the NMF estimators the start, the regularization weights and the
convergence warning. Subclasses implement ``_fit_data(data, ...)`` and
``_transform_data(data)``, where ``data`` is the data matrix of X (in memory, or
over the row blocks of a dask array).
"""

import contextlib
import math
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from sklearn.utils.validation import _check_feature_names_in

from ._backend import resolve_backend
from ._dask import import_dask, is_dask_array
from ._kernels.init import initialize_factors, resolve_init
from ._kernels.losses import regularization
from ._scoring import topic_stability_score
from ._validation import (
    Integral,
    Interval,
    StrOptions,
    check_components_fit_in_memory,
    check_factor,
    check_finite_result,
    check_fixed_components,
    check_is_fitted,
    check_largest_entry,
    check_non_negative_data,
    check_solve_grams_fit_in_memory,
    is_torch_tensor,
    observed_entries,
    place_fixed_rows,
    refuse_nothing_observed,
    torch_to_numpy,
    validate_dask_X,
    validate_params,
    validate_X,
)


class FactorizationBase(TransformerMixin, BaseEstimator):
    """Shared plumbing of the matrix factorization estimators (not for direct use).

    ``X ~ W @ H`` with ``W`` of shape ``(n_samples, n_components)`` (what
    ``transform`` returns) and ``H = components_`` of shape
    ``(n_components, n_features)``.
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "device": "no_validation",  # checked with a precise message by resolve_backend
    }

    # class-level facts that subclasses override
    _requires_torch = False  # AutogradNMF runs on PyTorch only
    _supports_missing = False  # NaN entries of dense X are missing values
    _non_negative = True  # NMF needs X >= 0; truncated SVD does not
    _takes_dask = False  # MUNMF and TruncatedSVDTopics fit dask arrays
    _keeps_transpose = False  # the fit multiplies by X.T at every step: keep a copy of it

    # -- template -------------------------------------------------------------
    def _backend(self):
        return resolve_backend(self.device, require_torch=self._requires_torch)

    def _data(self, X, mask, backend, *, reset, method, dtype=None):
        """X (with ``mask``) validated once, as the data matrix of the kernels (X that
        is not float32 or float64 converted to ``dtype``, float64 by default). A fit
        (``fit``, ``partial_fit``) refuses X with no observed entry; ``transform``
        takes it (a row with nothing observed has W = 0)."""
        whom = f"{type(self).__name__}.{method}"
        if is_dask_array(X):
            return self._dask_data(X, mask, backend, reset=reset, whom=whom)
        X = validate_X(self, X, reset=reset, whom=whom, allow_nan=self._supports_missing,
                       non_negative=self._non_negative, device=backend.device, dtype=dtype)
        X = backend.index_order(X)
        if self._supports_missing:
            X, mask = observed_entries(X, mask, whom)
            if method in ("fit", "partial_fit"):
                refuse_nothing_observed(mask, whom)
        elif mask is not None:
            raise ValueError(f"{whom} does not support missing values (mask must be None).")
        data = backend.data_matrix(X, mask)
        if self._non_negative:  # the NMF solvers' safe range of X's scale
            check_largest_entry(data.max_value, data.dtype, whom)
        return data

    def _dask_input(self, X, mask, *, reset, whom):
        """A dask X checked as far as it can be without computing it: (X, the dtype of
        its blocks)."""
        if not self._takes_dask:
            raise TypeError(
                f"{type(self).__name__} does not take dask arrays: MUNMF and "
                "TruncatedSVDTopics do; compute X into memory first (X.compute())."
            )
        if mask is not None:
            raise ValueError(
                f"{whom} takes a mask of observed entries with in-memory X only, not with "
                "a dask array."
            )
        import_dask()
        return validate_dask_X(self, X, reset=reset, whom=whom)

    def _dask_data(self, X, mask, backend, *, reset, whom):
        from ._dask.blocks import RowBlockMatrix

        X, dtype = self._dask_input(X, mask, reset=reset, whom=whom)
        data = RowBlockMatrix(X, dtype, whom, backend=backend, non_negative=self._non_negative)
        if self._non_negative:
            check_largest_entry(data.max_value, dtype, whom)
        return data

    @contextlib.contextmanager
    def _refitting(self):
        """Collect the fitted attributes and set them all at once at the end, after a
        check that none is NaN or infinite: a fit that fails or is interrupted (even
        by Ctrl-C) leaves the estimator as it was (validate_data sets
        ``n_features_in_`` on the way)."""
        before = dict(self.__dict__)
        attributes = {}
        try:
            yield attributes
            _check_finite_attributes(type(self).__name__, attributes)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        self.__dict__.update(attributes)

    def _fit(self, X, fit_params, mask=None):
        """Validate, run the subclass's fit, then set every fitted attribute at once.

        Returns the transform of X (W), computed as ``transform`` would compute it
        (lazily for a dask X: ``transform(X)``).
        """
        validate_params(self)
        with self._refitting() as attributes:
            data = self._data(X, mask, self._backend(), reset=True, method="fit")
            if self._keeps_transpose:
                data.keep_transpose()
            fitted, W = self._fit_data(data, **fit_params)
            attributes.update(fitted)
            check_finite_result(W, f"{type(self).__name__}.fit_transform")
        return self.transform(X) if is_dask_array(X) else W

    # -- public API -----------------------------------------------------------
    def fit(self, X, y=None, **fit_params):
        """Learn a model of the data X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency by convention.
        **fit_params : dict
            Estimator-specific options (for example ``W`` and ``H`` with
            ``init='custom'``).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X, fit_params)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """Learn a model of X and return the transformed data.

        Identical to ``fit(X).transform(X)``, without doing the work twice.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency by convention.
        **fit_params : dict
            Estimator-specific options, as in ``fit``.

        Returns
        -------
        W : ndarray of shape (n_samples, n_components)
            Transformed data.
        """
        return self._fit(X, fit_params)

    def transform(self, X, mask=None):
        """Transform the data X according to the fitted model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to transform. With an estimator that supports missing values
            (the ``allow_nan`` tag), NaN entries of a dense X are missing: left out
            of the solve for W.
        mask : {array-like, sparse matrix} of shape (n_samples, n_features), \
                default=None
            Estimators that support missing values only: True (non-zero) where an
            entry of X is observed, False where it is missing (as in ``fit``).

        Returns
        -------
        W : ndarray of shape (n_samples, n_components)
            Transformed data, of X's dtype (float32 stays float32).
        """
        check_is_fitted(self)
        if is_dask_array(X):  # lazily, block by block (the rows are independent)
            X, dtype = self._dask_input(X, mask, reset=False,
                                        whom=f"{type(self).__name__}.transform")
            from ._dask.blocks import transform_blocks

            return transform_blocks(X, self.transform, dtype, self.components_.shape[0],
                                    f"{type(self).__name__}.transform", self._non_negative)
        data = self._data(X, mask, self._backend(), reset=False, method="transform")
        W = self._transform_data(data)
        return check_finite_result(W, f"{type(self).__name__}.transform")

    def inverse_transform(self, X=None, *, Xt=None):
        """Transform data back to its original space: ``X @ components_``.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_components)
            Transformed data matrix (``W``).

        Xt : {ndarray, sparse matrix} of shape (n_samples, n_components)
            The former name of ``X``, taken with a ``FutureWarning`` as
            scikit-learn 1.5 and 1.6 take it.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Data in the original space.
        """
        whom = f"{type(self).__name__}.inverse_transform"
        if X is None and Xt is None:
            raise TypeError(f"{whom}: Missing required positional argument: X")
        if X is not None and Xt is not None:
            raise TypeError(f"{whom}: Cannot use both X and Xt. Use X only.")
        if Xt is not None:
            warnings.warn("Xt was renamed X in version 1.5 of scikit-learn; pass X.",
                          FutureWarning, stacklevel=2)
            X = Xt
        check_is_fitted(self)
        if is_torch_tensor(X):
            X = torch_to_numpy(X, whom)
        X = check_array(X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32],
                        estimator=self)
        if X.shape[1] != self.components_.shape[0]:
            raise ValueError(
                f"X has {X.shape[1]} columns, but {type(self).__name__} has "
                f"{self.components_.shape[0]} components."
            )
        if self._non_negative:  # W of an NMF model is non-negative
            check_non_negative_data(X, whom)
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below
            result = X @ self.components_.astype(X.dtype, copy=False)
        result = result.toarray() if sp.issparse(result) else np.asarray(result)
        return check_finite_result(result, whom)

    def score(self, X, y=None):
        """Topic stability on X: how well a model refitted on X reproduces the topics.

        A model of the same kind (the same parameters) is fitted on X alone, and
        the two models' topics are compared by the documents of X they describe:
        W of every row of X is solved with each model's components fixed, the
        topic proportions of the two are correlated column by column, the topics
        are matched one to one (Hungarian algorithm), and the score is the sum over
        matched pairs of ``correlation - 1/2``. Each topic found again adds to the
        score, each that X does not reproduce takes from it, so the score peaks
        near the number of topics the data support, and ``GridSearchCV`` over
        ``n_components`` can use it (it is the default scoring). It costs one fit
        on X (the refit) and two least-squares solves. See
        :func:`sklearn_nmfx._scoring.topic_stability_score`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data, typically rows not used in ``fit``.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            Sum over the matched topics of their correlation minus 1/2, between
            ``-n_components / 2`` and ``n_components / 2``.

        Raises
        ------
        ValueError
            When X has no more rows than the model has components.
        """
        check_is_fitted(self)
        whom = f"{type(self).__name__}.score"
        data = self._data(X, None, self._backend(), reset=False, method="score")
        if data.host is None:
            raise TypeError(f"{whom} needs X in memory, not a dask array.")
        n_samples, n_components = data.shape[0], self.components_.shape[0]
        if n_samples <= n_components:
            raise ValueError(
                f"{whom} needs more rows than components: X has {n_samples} rows for "
                f"{n_components} components (the topics of a model refitted on X are "
                "compared over its rows, and with as many components as rows every "
                "model is reproduced); score more documents, or fewer components.")
        refit = self._refit_for_score(X)
        score = topic_stability_score(data.host, data.host_mask, self.components_,
                                      refit.components_, non_negative=self._non_negative)
        return float(check_finite_result(score, whom))

    def _refit_for_score(self, X):
        """A model with this one's parameters fitted on X (for ``score``): the same
        number of components, a fixed seed (0 unless ``random_state`` is an int, so
        the score is deterministic), the default start in place of a custom one,
        silent (its convergence warnings would repeat the fit's)."""
        params = {"n_components": int(self.components_.shape[0])}
        if not isinstance(self.random_state, numbers.Integral):
            params["random_state"] = 0
        if getattr(self, "init", None) == "custom":
            params["init"] = None
        if "verbose" in self.get_params():
            params["verbose"] = 0
        refit = clone(self).set_params(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return refit.fit(X)

    @property
    def _n_features_out(self):
        """Number of transformed output features (for get_feature_names_out)."""
        return self.components_.shape[0]

    #: Prefix of the output feature names: the scikit-learn class this one
    #: replaces, so that a moved-over pipeline's column names do not change
    #: (None: the class's own name, as scikit-learn's estimators do).
    _feature_names_prefix = None

    def get_feature_names_out(self, input_features=None):
        """Get output feature names for transformation.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the feature names seen in `fit`.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``["nmf0", "nmf1", ...]`` for :class:`MUNMF`, as scikit-learn's
            ``NMF`` names them (``minibatchnmf*`` for :class:`SGDNMF`,
            ``truncatedsvd*`` for :class:`TruncatedSVDTopics`,
            ``autogradnmf*`` for :class:`AutogradNMF`).
        """
        check_is_fitted(self, "components_")
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = self._feature_names_prefix or type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self._n_features_out)],
                          dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self._non_negative
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = self._supports_missing
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class NMFBase(FactorizationBase):
    """Base of the NMF estimators: ``fit`` and ``fit_transform`` take the custom
    start ``W`` and ``H`` (used with ``init='custom'``), as in scikit-learn's NMF, a
    ``mask`` of observed entries and ``fixed_components`` (rows of H kept fixed)."""

    _supports_missing = True

    def fit(self, X, y=None, W=None, H=None, *, mask=None, fixed_components=None):
        """Learn an NMF model for the data X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training vector, where ``n_samples`` is the number of samples and
            ``n_features`` is the number of features. Sparse X is never densified
            (unless a ``mask`` is given). NaN entries of a dense X are missing
            values: they are left out of the loss and of every update.
        y : Ignored
            Not used, present for API consistency by convention.
        W : array-like of shape (n_samples, n_components), default=None
            With ``init='custom'``, the initial W.
        H : array-like of shape (n_components, n_features) or \
                (len(fixed_components), n_features), default=None
            With ``init='custom'``, the initial H. With ``fixed_components``, the
            fixed rows: either a full H (its rows ``fixed_components`` are used,
            the others start from ``init`` unless ``init='custom'``) or only the
            fixed rows, in the order of ``fixed_components``.
        mask : {array-like, sparse matrix} of shape (n_samples, n_features), \
                default=None
            True (non-zero) where an entry of X is observed, False where it is
            missing; for example the unobserved entries of a sparse X, whose
            implicit zeros are otherwise observed zeros. With a mask the fit runs
            on dense arrays. NaN entries of X are missing whatever the mask.
        fixed_components : array-like of int, default=None
            Indices of the components whose rows of H (given in ``H``) stay fixed,
            bit for bit, while the other components are learned (guided topics).

        Returns
        -------
        self : object
            Returns the instance itself.
        """
        self._fit(X, {"W": W, "H": H, "fixed_components": fixed_components}, mask)
        return self

    def fit_transform(self, X, y=None, W=None, H=None, *, mask=None, fixed_components=None):
        """Learn an NMF model for the data X and return the transformed data.

        Returns exactly ``fit(X, ...).transform(X, mask=mask)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training vector; NaN entries of a dense X are missing values.
        y : Ignored
            Not used, present for API consistency by convention.
        W : array-like of shape (n_samples, n_components), default=None
            With ``init='custom'``, the initial W.
        H : array-like of shape (n_components, n_features) or \
                (len(fixed_components), n_features), default=None
            With ``init='custom'``, the initial H; with ``fixed_components``, the
            fixed rows (see ``fit``).
        mask : {array-like, sparse matrix} of shape (n_samples, n_features), \
                default=None
            True where an entry of X is observed, False where it is missing.
        fixed_components : array-like of int, default=None
            Indices of the components whose rows of H stay fixed (see ``fit``).

        Returns
        -------
        W : ndarray of shape (n_samples, n_components)
            Transformed data.
        """
        return self._fit(X, {"W": W, "H": H, "fixed_components": fixed_components}, mask)

    @property
    def _n_components(self):
        """The fitted number of components under the private name of scikit-learn's
        NMF and MiniBatchNMF, which code written for them (their own tests) reads."""
        return self.n_components_

    def _resolved_n_components(self, n_features, W, H, fixed_components=None):
        """``n_components``, or with 'auto'/None the rank of a custom start (or of
        the H given with ``fixed_components``) or n_features."""
        if self.n_components not in ("auto", None):
            return self.n_components
        if self.init == "custom" or fixed_components is not None:
            # a factor that is not 2-D is reported by _start
            if H is not None and np.ndim(H) == 2:
                return np.shape(H)[0]
            if W is not None and np.ndim(W) == 2:
                return np.shape(W)[1]
        return n_features

    def _start(self, data, W, H, n_components, fixed_components=None):
        """The start (W, H) in NumPy, from ``init`` and ``random_state`` as in
        scikit-learn, with the fixed rows of H put in; and the sorted indices of the
        fixed components (None without). The NNDSVD starts run on the products of
        ``data`` (on the NumPy backend whatever the device)."""
        name = type(self).__name__
        n_samples, n_features = data.shape
        dtype = data.dtype
        check_components_fit_in_memory(n_components, data.shape, dtype, f"{name}.fit")
        fixed, rows = check_fixed_components(
            fixed_components, H, self.init, n_components, n_features, dtype, f"{name}.fit"
        )
        init = resolve_init(self.init, n_components, n_samples, n_features)
        if init == "custom":
            if W is None or H is None:
                raise ValueError(f"init='custom' needs both W and H passed to {name}.fit.")
            W = check_factor(W, (n_samples, n_components), dtype, f"{name} (input W)")
            H = check_factor(H, (n_components, n_features), dtype, f"{name} (input H)")
            return W.copy(), H.copy(), fixed
        if W is not None or (H is not None and fixed is None):
            warnings.warn(
                "When init!='custom', provided W or H are ignored. Set init='custom' to "
                "use them as initialization.",
                RuntimeWarning,
                stacklevel=5,
            )
        start_data = data.on_numpy()
        with start_data.backend.own_threads(start_data):
            W, H = initialize_factors(start_data, n_components, init, self.random_state)
        if fixed is not None:
            H = place_fixed_rows(H, fixed, rows)
        return W, H, fixed

    def _check_solve_memory(self, data, n_components, beta, method):
        """Refuse up front (``check_solve_grams_fit_in_memory``) a Frobenius solve of W
        over the observed entries whose per-row Gram matrices (``hals.row_grams``)
        would not fit in memory; nothing to check without missing entries or for the
        other losses (their solve builds no Gram matrix)."""
        if data.mask is not None and beta == 2:
            check_solve_grams_fit_in_memory(n_components, data.shape, data.dtype,
                                            f"{type(self).__name__}.{method}")

    def _regularization(self, n_samples, n_features):
        """The L1 and L2 weights (l1_W, l2_W, l1_H, l2_H) for X of this shape."""
        return regularization(self.alpha_W, self.alpha_H, self.l1_ratio, n_samples, n_features)

    def _reporter(self, unit):
        """The callback that prints the objective when ``verbose``."""
        def report(n_iter, objective):
            if self.verbose:
                print(f"{type(self).__name__} {unit} {n_iter:4d}: objective {objective:.6g}")
        return report

    def _factorization_attributes(self, Ht, fixed, n_iter, history, converged, backend):
        """The attributes every NMF fit sets, from the end of its iterations; a
        ConvergenceWarning when they ran out before converging."""
        if not converged and self.tol > 0:
            warnings.warn(
                f"Maximum number of iterations {int(self.max_iter)} reached. Increase "
                "it to improve convergence.",
                ConvergenceWarning,
                stacklevel=5,
            )
        components = np.ascontiguousarray(backend.to_numpy(Ht).T)
        return {
            "components_": components,
            "n_components_": int(components.shape[0]),
            "fixed_components_": fixed_indices(fixed),
            "n_iter_": int(n_iter),
            "loss_curve_": [objective for _, objective in history],
        }


def working_scale(data, beta):
    """The power of 4 nearest the largest entry of X (1 for a callable loss, whose
    scale the estimator cannot know, for X = 0, and for a largest entry in [0.5, 2)):
    the NMF fits run on X / scale with the factors divided by sqrt(scale), a power of
    2, so that the scalings are exact and the start (NNDSVDa fills zeros with X's
    mean, a quantity of X's scale, not of the factors'), the steps and the floors
    follow X's scale."""
    if beta is None or not data.max_value > 0:
        return 1.0
    return 4.0 ** round(math.log2(data.max_value) / 2)


#: MUNMF and SGDNMF fit X itself when its largest entry is in [2**-BAND, 2**BAND)
#: (``banded_scale``): their results on data of ordinary scale are those of a fit
#: on X, whatever the scale of each data set in that range
ORDINARY_SCALE_BAND = 10


def banded_scale(data, beta, band=ORDINARY_SCALE_BAND):
    """The working scale of MUNMF and SGDNMF: a power of ``4 ** band``, 1 for X whose
    largest entry is in ``[2 ** -band, 2 ** band)`` (about [1e-3, 1e3) for the default
    band of 10), else the power of ``4 ** band`` that brings the largest entry into
    that range (1 as well for X = 0 and for a callable loss).

    Unlike ``working_scale`` (the nearest power of 4), the fit of data of ordinary
    scale runs on X itself, bit for bit as without a working scale, and still the
    fit of ``4 ** (band * n) * X`` is exactly the fit of X, its factors scaled by
    ``2 ** (band * n)`` (exact powers of 2): a fit follows X's scale from the
    smallest to the largest entries float64 can factorize. Within a band, the
    starts and the steps of these solvers do well on X as it is."""
    if beta is None or not data.max_value > 0:
        return 1.0
    # the largest entry is in [2 ** (exponent - 1), 2 ** exponent): exact integers
    exponent = math.frexp(float(data.max_value))[1]
    return math.ldexp(1.0, 2 * band * ((exponent - 1 + band) // (2 * band)))


def objective_factor(scale, beta):
    """``scale ** beta``: the beta divergence (and the objective, with the penalties of
    ``scaled_regularization``) of X is that of the fit on ``X / scale`` times this
    (infinite where it overflows, as the objective on X itself would)."""
    if scale == 1.0:
        return 1.0
    with np.errstate(over="ignore", under="ignore"):
        return float(np.float64(scale) ** np.float64(beta))


def divided(data, scale):
    """The data matrix of X / scale (``data`` itself for scale 1); scale is a power of
    4, so the division is exact and keeps the missing entries' mask."""
    if scale == 1.0:
        return data
    if data.host is None:  # the Dask peer: a new pass over the blocks
        return data.scaled(scale)
    X = data.host
    X = X * X.dtype.type(1.0 / scale)
    return data.backend.data_matrix(X, data.host_mask)


def scaled_regularization(weights, scale, beta):
    """The penalty weights of the problem on ``X / scale`` with ``W / sqrt(scale)``
    and ``H / sqrt(scale)``, divided by ``scale ** beta``: the same minimization as on
    X (the beta divergence is homogeneous of degree beta)."""
    if scale == 1.0:
        return weights
    l1_W, l2_W, l1_H, l2_H = weights
    l1, l2 = scale ** (0.5 - beta), scale ** (1.0 - beta)
    return l1_W * l1, l2_W * l2, l1_H * l1, l2_H * l2


def scaled_start(W0, H0, fixed, init, scale):
    """The start of the fit on X / scale: a custom start, and the fixed rows of H,
    divided by sqrt(scale) (exactly: a power of 2); the other starts were computed
    from X / scale."""
    if scale == 1.0:
        return W0, H0
    root = math.sqrt(scale)
    if init == "custom":
        return W0 / root, H0 / root
    if fixed is not None:
        H0[fixed] /= root
    return W0, H0


def fixed_indices(fixed):
    """The ``fixed_components_`` attribute: the sorted indices of the fixed components
    (empty without)."""
    return np.zeros(0, dtype=np.intp) if fixed is None else np.asarray(fixed, dtype=np.intp)


def _check_finite_attributes(name, attributes):
    """RuntimeError if a fitted array, number or list of numbers is NaN or infinite:
    a fitted model never holds them."""
    for key, value in attributes.items():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            finite = np.isfinite(value).all()
        elif isinstance(value, (float, np.floating)):
            finite = np.isfinite(value)
        elif isinstance(value, list) and value and all(
                isinstance(v, (float, np.floating)) for v in value):
            finite = np.isfinite(np.asarray(value, dtype=np.float64)).all()
        else:
            continue
        if not finite:
            # the model's dtype is X's (components_); float64 is advice for float32 only
            dtype = getattr(attributes.get("components_", value), "dtype", np.float64)
            raise RuntimeError(
                f"{name} produced non-finite values in {key}: the data overflow "
                f"the floating-point type ({np.dtype(dtype).name}). Rescale X (for "
                "example divide it by its largest magnitude)"
                + (" or use float64." if np.dtype(dtype) == np.float32 else ".")
            )
