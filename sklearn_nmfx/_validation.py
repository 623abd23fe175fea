"""Input checks. The only module that touches scikit-learn's private helpers."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "Integral", "Real", "Interval", "StrOptions", "check_is_fitted",
    "validate_params", "validate_X", "check_non_negative_data", "check_factor",
    "split_missing",
]


def validate_params(estimator):
    """Check the constructor parameters against ``_parameter_constraints``."""
    estimator._validate_params()


def check_non_negative_data(X, whom):
    """Raise a ValueError that says how many entries are negative and where the first is."""
    values = X.data if sp.issparse(X) else X
    negative = values < 0
    if not np.any(negative):
        return
    n_negative = int(np.count_nonzero(negative))
    if sp.issparse(X):
        coo = X.tocoo()
        first = int(np.flatnonzero(coo.data < 0)[0])
        row, col, value = int(coo.row[first]), int(coo.col[first]), coo.data[first]
    else:
        flat = int(np.flatnonzero(negative.ravel())[0])
        row, col = (int(i) for i in np.unravel_index(flat, X.shape))
        value = X[row, col]
    raise ValueError(
        f"Negative values in data passed to {whom}: {n_negative} negative "
        f"entr{'y' if n_negative == 1 else 'ies'}, the first at row {row}, column "
        f"{col} (value {float(value)!r}). Non-negative matrix factorization needs X >= 0."
    )


def validate_X(estimator, X, *, reset, whom, allow_nan=False, non_negative=True):
    """Validate X the scikit-learn way: 2-D float32/float64, dense or CSR/CSC, >= 0.

    NaN entries are accepted only with ``allow_nan`` (they mark missing values);
    infinity is always an error. X is never modified; a converted copy is returned
    when a conversion is needed.
    """
    X = validate_data(
        estimator,
        X,
        reset=reset,
        accept_sparse=("csr", "csc"),
        dtype=[np.float64, np.float32],
        ensure_all_finite="allow-nan" if allow_nan else True,
    )
    if sp.issparse(X) and allow_nan and np.isnan(X.data).any():
        raise ValueError(
            f"Input X passed to {whom} is a sparse matrix with NaN entries: missing "
            "values are supported in dense X only."
        )
    if not non_negative:
        return X
    if allow_nan and not sp.issparse(X):
        check_non_negative_data(np.where(np.isnan(X), 0, X), whom)
    else:
        check_non_negative_data(X, whom)
    return X


def split_missing(X):
    """(X with NaN set to 0, mask of observed entries or None) for a dense X."""
    if sp.issparse(X):
        return X, None
    missing = np.isnan(X)
    if not missing.any():
        return X, None
    return np.where(missing, 0, X).astype(X.dtype, copy=False), ~missing


def check_factor(A, shape, dtype, whom):
    """Check a user-given W or H: shape, dtype, finite, non-negative, not all zero."""
    if sp.issparse(A):
        raise TypeError(f"{whom} must be a dense array, got a sparse matrix.")
    A = check_array(A, dtype=None, input_name=whom)
    if A.shape != tuple(shape):
        raise ValueError(
            f"Array with wrong shape passed to {whom}: expected {tuple(shape)}, got "
            f"{A.shape}."
        )
    if A.dtype != dtype:
        raise TypeError(
            f"{whom} should have the same dtype as X ({np.dtype(dtype).name}); got "
            f"{A.dtype.name}. Convert it with .astype(X.dtype)."
        )
    check_non_negative_data(A, whom)
    if not np.any(A):
        raise ValueError(f"Array passed to {whom} is full of zeros.")
    return A
