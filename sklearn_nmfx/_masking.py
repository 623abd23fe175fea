"""Missing entries and fixed components: the checks behind ``mask=`` and
``fixed_components=`` of the NMF estimators.

Missing entries are carried as ``(X with missing entries set to 0, mask)``, the mask
a dense boolean array, True where an entry is observed (None when every entry is).
Kernels leave the unobserved entries out of the loss and of every update.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array

from ._validation import check_factor, split_missing

__all__ = ["observed_entries", "check_fixed_components", "place_fixed_rows"]


def observed_entries(X, mask, whom):
    """(X with unobserved entries set to 0, boolean mask of observed entries or None).

    NaN entries of a dense X are missing. ``mask`` (array-like or sparse matrix of
    X's shape, non-zero/True where observed) marks more entries as missing; with a
    mask that leaves entries out, a sparse X is densified (masked fits run on dense
    arrays). The mask is None when every entry is observed, so such a fit is
    exactly the unmasked one (on sparse X too).
    Neither X nor mask is modified.
    """
    if mask is None:
        return split_missing(X)
    if sp.issparse(mask):
        mask = mask.toarray()
    mask = check_array(mask, dtype=None, input_name=f"mask passed to {whom}")
    if mask.dtype.kind not in "biuf":  # strings would all count as observed
        raise TypeError(
            f"mask passed to {whom} must hold booleans (or 0/1 numbers); got dtype "
            f"{mask.dtype}."
        )
    if mask.shape != X.shape:
        raise ValueError(
            f"mask passed to {whom} has shape {mask.shape}, but X has shape {X.shape}: "
            "the mask marks each entry of X as observed (True) or missing (False)."
        )
    observed = mask != 0
    if sp.issparse(X):  # no NaN in sparse X (validate_X)
        if observed.all():
            return X, None
        X = X.toarray()
    observed &= ~np.isnan(X)
    if observed.all():
        return X, None
    return np.where(observed, X, 0).astype(X.dtype, copy=False), observed


def check_fixed_components(fixed_components, H, init, n_components, n_features, dtype, whom):
    """Validate ``fixed_components`` and the H that holds their rows.

    Returns ``(indices, rows)``: the sorted indices of the fixed components and their
    rows of H, shape ``(len(indices), n_features)``, or ``(None, None)`` without
    fixed components. H is either a full ``(n_components, n_features)`` H (its rows
    at ``indices`` are used; all of it with ``init='custom'``) or only the fixed
    rows, in the order of ``indices``.
    """
    if fixed_components is None:
        return None, None
    indices = np.asarray(fixed_components)
    if indices.ndim != 1 or indices.size == 0 or indices.dtype.kind not in "iu":
        raise ValueError(
            f"fixed_components passed to {whom} must be a non-empty list of component "
            f"indices (integers); got {fixed_components!r}."
        )
    if indices.min() < 0 or indices.max() >= n_components or np.unique(indices).size != indices.size:
        raise ValueError(
            f"fixed_components passed to {whom} must be distinct indices in "
            f"[0, {n_components}) (n_components={n_components}); got {indices.tolist()}."
        )
    if H is None:
        raise ValueError(
            f"fixed_components needs H passed to {whom}: the fixed rows of H (shape "
            f"({indices.size}, {n_features})), or a full H of shape "
            f"({n_components}, {n_features})."
        )
    n_rows = np.shape(H)[0] if np.ndim(H) == 2 else None
    full = n_rows == n_components or init == "custom"
    shape = (n_components if full else indices.size, n_features)
    H = check_factor(H, shape, dtype, f"{whom} (input H)")
    order = np.argsort(indices, kind="stable")
    rows = H[indices[order]] if full else H[order]
    return indices[order], np.array(rows, copy=True)


def place_fixed_rows(H, indices, rows):
    """A copy of the start H with the fixed rows put in."""
    H = np.array(H, copy=True)
    H[indices] = rows
    return H
