"""Input checks. The only module that touches scikit-learn's private helpers."""

import math
import os
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "Integral", "Real", "Interval", "StrOptions", "check_is_fitted",
    "validate_params", "validate_X", "validate_dask_X", "check_non_negative_data",
    "check_factor", "check_largest_entry", "check_finite_result",
    "check_components_fit_in_memory", "check_zeros_for_beta", "check_block_counts",
    "is_torch_tensor", "torch_to_numpy", "split_missing", "observed_entries",
    "check_fixed_components", "place_fixed_rows", "check_per_row_grams_fit_in_memory",
    "check_solve_grams_fit_in_memory", "refuse_nothing_observed",
]

# Margins of the safe range of X's scale (see check_data_range).
_RANGE_MARGIN = 1e3


def validate_params(estimator):
    """Check the constructor parameters against ``_parameter_constraints``."""
    estimator._validate_params()


def first_negative(X):
    """(number of negative entries, (row, column, value) of the first in row-major
    order), or (0, None)."""
    values = X.data if sp.issparse(X) else X
    negative = values < 0
    if not np.any(negative):
        return 0, None
    n_negative = int(np.count_nonzero(negative))
    if sp.issparse(X):
        coo = X.tocoo()
        rows, cols = coo.row[coo.data < 0], coo.col[coo.data < 0]
        first = int(np.lexsort((cols, rows))[0])  # first in row-major order, any format
        row, col = int(rows[first]), int(cols[first])
        value = coo.data[coo.data < 0][first]
    else:
        flat = int(np.flatnonzero(negative.ravel())[0])
        row, col = (int(i) for i in np.unravel_index(flat, X.shape))
        value = X[row, col]
    return n_negative, (row, col, float(value))


def check_non_negative_data(X, whom):
    """Raise a ValueError that says how many entries are negative and where the first is."""
    refuse_negative(*first_negative(X), whom)


def refuse_negative(n_negative, first, whom):
    """Raise the ValueError of ``n_negative`` entries, the first at ``(row, column,
    value)``; nothing when there is none."""
    if not n_negative:
        return
    row, col, value = first
    raise ValueError(
        f"Negative values in data passed to {whom}: {n_negative} negative "
        f"entr{'y' if n_negative == 1 else 'ies'}, the first at row {row}, column "
        f"{col} (value {value!r}). Non-negative matrix factorization needs X >= 0."
    )


def is_torch_tensor(X):
    """Whether X is a torch.Tensor (without importing torch)."""
    return any(cls.__name__ == "Tensor" and cls.__module__ == "torch" for cls in type(X).__mro__)


def _same_device(tensor_device, device):
    """Whether a tensor's torch.device is the estimator's backend device (a torch.device,
    or 'cpu' for NumPy); an unspecified index (``cuda``) matches any."""
    kind, index = (device, None) if isinstance(device, str) else (device.type, device.index)
    return tensor_device.type == kind and (
        index is None or tensor_device.index is None or tensor_device.index == index
    )


def torch_to_numpy(X, whom, device=None):
    """A NumPy array or SciPy sparse matrix with the values and dtype of a tensor.

    With ``device`` (the estimator's backend device), a tensor elsewhere is refused:
    the estimator would otherwise silently move the data across devices.
    """
    if device is not None and not _same_device(X.device, device):
        raise ValueError(
            f"X passed to {whom} is a torch tensor on device {str(X.device)!r}, but the "
            f"estimator computes on device={str(device)!r}: move the tensor there (for "
            f"example X.to({str(device)!r})) or set the estimator's device to "
            f"{str(X.device)!r}."
        )
    import torch

    X = X.detach()
    if X.dtype in (torch.bfloat16, torch.float16):  # no NumPy bfloat16
        X = X.to(torch.float64)
    if X.layout in (torch.sparse_csc, torch.sparse_bsr, torch.sparse_bsc):
        X = X.to_sparse_csr()
    if X.layout == torch.sparse_csr:
        return sp.csr_matrix(
            (X.values().cpu().numpy(), X.col_indices().cpu().numpy(),
             X.crow_indices().cpu().numpy()), shape=tuple(X.shape))
    if X.layout == torch.sparse_coo:
        X = X.coalesce()
        rows, cols = X.indices().cpu().numpy()
        return sp.coo_matrix((X.values().cpu().numpy(), (rows, cols)), shape=tuple(X.shape))
    return X.cpu().resolve_conj().resolve_neg().numpy()


def _check_not_text_or_dates(X, whom):
    if isinstance(X, (list, tuple)):
        try:
            dtype = np.asarray(X).dtype
        except (ValueError, TypeError):  # ragged: check_array says what is wrong
            return
    elif hasattr(X, "dtypes") and not hasattr(X, "dtype"):  # a DataFrame: by column
        dates = [dt for dt in X.dtypes if getattr(dt, "kind", None) in ("M", "m")]
        dtype = dates[0] if dates else None
    else:
        dtype = getattr(X, "dtype", None)
    kind = getattr(dtype, "kind", None)
    if kind in ("U", "S"):
        raise TypeError(
            f"X passed to {whom} holds strings; it needs numbers. Convert them (for "
            "example X.astype(float)), or turn text into numbers first (for example "
            "with sklearn.feature_extraction.text.TfidfVectorizer)."
        )
    if kind in ("M", "m"):
        raise TypeError(
            f"X passed to {whom} holds dates or time spans (dtype {dtype}); it needs "
            "numbers. Convert them explicitly if they are meant as numbers."
        )


def _unmasked(X, whom, allow_nan):
    """A NumPy masked array as a plain array: its masked entries are missing values
    (NaN) where the estimator supports them, and refused otherwise (np.asarray would
    silently use the hidden values)."""
    if not np.ma.isMaskedArray(X):
        return X
    hidden = np.ma.getmaskarray(X)
    if not hidden.any():
        return np.ma.getdata(X)
    if not allow_nan:
        raise ValueError(
            f"X passed to {whom} is a masked array with {int(hidden.sum())} masked "
            "entries, and this estimator does not support missing values: fill them "
            "first (X.filled(value))."
        )
    dtype = X.dtype if X.dtype.kind == "f" else np.float64
    return X.astype(dtype).filled(np.nan)


def canonical_sparse(X):
    """Sparse X with no duplicate entry and no stored zero: duplicates are summed (as
    SciPy's arithmetic does), so every later check sees the true entries. Makes a
    (sorted) copy when something must change; the caller's matrix is never touched.

    Unsorted indices alone are not a change: sorting would copy X (``TfidfVectorizer``
    gives unsorted CSR), and the solvers take any order. Their duplicates are found
    on the transposed conversion, which writes each row's entries in order (a
    temporary, linear in the non-zeros, where a sort is not)."""
    if np.any(X.data == 0):
        duplicates_or_zeros = True
    elif X.has_sorted_indices:
        duplicates_or_zeros = not X.has_canonical_format
    else:
        transposed = X.T.tocsr() if X.format == "csr" else X.T.tocsc()
        duplicates_or_zeros = not transposed.has_canonical_format
        del transposed
    if not duplicates_or_zeros:
        return X
    X = X.copy()
    X.sum_duplicates()
    X.eliminate_zeros()
    return X


def check_largest_entry(largest, dtype, whom):
    """Raise a ValueError when the scale of X is out of what ``dtype`` can factorize.

    The NMF solvers form products up to the fourth power of X's scale (the NNDSVDa
    start fills zeros of W and H with X's mean, as scikit-learn does, so W H is of
    order ``m**2`` and the squared residuals of the objective of order ``m**4``), so
    the largest entry ``m`` of X (of its observed entries) must satisfy
    ``sqrt(tiny) < m`` (squares do not underflow to zero) and ``m < max ** (1/4)``
    (fourth powers do not overflow), each with a margin of 1e3. That is about
    [1e-16, 1e6] for float32 and [1e-151, 1e74] for float64. Outside of it the
    results would be zero, NaN or infinite; all-zero X is fine.
    """
    if not largest > 0:  # all zero
        return
    finfo = np.finfo(dtype)
    low = math.sqrt(float(finfo.tiny)) * _RANGE_MARGIN
    high = float(finfo.max) ** 0.25 / _RANGE_MARGIN
    if low <= largest <= high:
        return
    raise ValueError(
        f"The largest entry of X passed to {whom} is {largest:.3g}, outside the range "
        f"[{low:.1e}, {high:.1e}] that {np.dtype(dtype).name} arithmetic can factorize "
        f"without {'overflow' if largest > high else 'underflow'}. Rescale X (for "
        "example X / X.max(): the factors of c * X are sqrt(c) times those of X)"
        + (", or convert it to float64." if np.dtype(dtype) == np.float32 else ".")
    )


def check_finite_result(result, whom):
    """Raise a RuntimeError instead of returning NaN or infinity."""
    if not np.all(np.isfinite(result)):
        dtype = np.asarray(result).dtype
        raise RuntimeError(
            f"{whom} produced non-finite values: the computation overflows the "
            f"floating-point type ({dtype.name}). Rescale the input"
            + (" or use float64." if dtype == np.float32 else ".")
        )
    return result


def _physical_memory():
    """This machine's memory in bytes, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        return None


def check_components_fit_in_memory(n_components, shape, dtype, whom, *, n_columns=None,
                                   what=None):
    """Raise a ValueError, rather than exhaust the memory, when ``n_components`` is so
    large that W, H and the ``(n_components, n_components)`` Gram matrices of the
    solvers need more than half of this machine's memory. ``n_columns`` (default
    ``n_components``) is the width of those factors, ``what`` their words in the
    message (for an SVD: its range basis, with the oversamples)."""
    n_samples, n_features = shape
    width = n_components if n_columns is None else n_columns
    needed = np.dtype(dtype).itemsize * width * (2 * (n_samples + n_features) + 4 * width)
    total = _physical_memory()
    if what is None:
        what = f"W, H and their {n_components} x {n_components} Gram matrices"
    if total and needed > total / 2:
        raise ValueError(
            f"n_components={n_components} is too large for {whom}: {what} need about "
            f"{needed / 2**30:.3g} GiB, more than half of this machine's "
            f"{total / 2**30:.3g} GiB (X has n_samples={n_samples}, "
            f"n_features={n_features}). Use fewer components."
        )



def check_per_row_grams_fit_in_memory(n_components, shape, dtype, whom, *, per_feature=5,
                                      per_sample=2, advice=None):
    """Raise a ValueError, rather than exhaust the memory, when the
    ``(n_components, n_components)`` Gram matrices of a computation with missing
    entries need more than half of this machine's memory: ``per_feature`` of them
    per feature of X and ``per_sample`` per row (SGDNMF's statistics: one matrix
    per feature, a few copies of them; the solve of W with H fixed,
    ``hals.row_grams``: the outer products of H's columns, one per feature, and
    the Gram matrix of each row with the copies of its least-squares start)."""
    n_samples, n_features = shape
    needed = np.dtype(dtype).itemsize * n_components * n_components * (
        per_feature * n_features + per_sample * n_samples)
    total = _physical_memory()
    if total and needed > total / 2:
        if advice is None:
            advice = ("Use fewer components, or MUNMF (whose missing-entry fit needs no "
                      "Gram matrices but those of its solve of W).")
        raise ValueError(
            f"n_components={n_components} is too large for {whom} with missing entries: "
            f"the {n_components} x {n_components} Gram matrices that the missing "
            f"entries need (per feature and per row of X) take about "
            f"{needed / 2**30:.3g} GiB, more than half of this machine's "
            f"{total / 2**30:.3g} GiB (n_samples={n_samples}, n_features={n_features}). "
            + advice
        )


def check_solve_grams_fit_in_memory(n_components, shape, dtype, whom):
    """:func:`check_per_row_grams_fit_in_memory` for the Frobenius solve of W with H
    fixed over the observed entries (``hals.solve_rows_hals``): the outer products
    of H's columns (one ``k x k`` matrix per feature), and per row its Gram matrix,
    the float64 copies and pseudo-inverse of its least-squares start and a
    product (about 6 per row in all)."""
    check_per_row_grams_fit_in_memory(
        n_components, shape, dtype, whom, per_feature=1, per_sample=6,
        advice="Use fewer components, or fill in the missing entries (without them "
               "the solve needs one such matrix).")


def refuse_nothing_observed(mask, whom):
    """Raise a ValueError when ``mask`` (of observed entries, None when all are) has
    no True: an X that is all NaN, or a mask with no True, has nothing to fit."""
    if mask is not None and not mask.any():
        raise ValueError(
            f"{whom}: no entry of X is observed (every entry is NaN, or the mask has no "
            "True), so there is nothing to fit. Pass X with observed entries (True in "
            "the mask where an entry is observed)."
        )


def validate_X(estimator, X, *, reset, whom, allow_nan=False, non_negative=True, device=None,
               dtype=None):
    """Validate X the scikit-learn way: 2-D float32/float64, dense (C order) or
    CSR/CSC without duplicates or stored zeros, and >= 0 with ``non_negative``.

    NaN entries are accepted only with ``allow_nan`` (they mark missing values);
    infinity is always an error. Strings are refused rather than parsed. Sparse
    duplicates are summed and stored zeros dropped. A torch tensor is read where it
    lies if that is ``device`` (the estimator's), else refused. X is never
    modified; a converted copy is returned when a conversion is needed. The scale
    of X is checked on its data matrix (:func:`check_largest_entry`). ``dtype``
    (float32 or float64) is the dtype non-float X is converted to (default: float64,
    float32 and float64 X kept as they are).
    """
    if is_torch_tensor(X):
        X = torch_to_numpy(X, whom, device=device)
    _check_not_text_or_dates(X, whom)
    X = _unmasked(X, whom, allow_nan)
    X = validate_data(
        estimator,
        X,
        reset=reset,
        accept_sparse=("csr", "csc"),
        # the first dtype of the list is the one X of any other dtype is converted to
        dtype=[np.float64, np.float32] if dtype is None else [np.dtype(dtype)] + [
            d for d in (np.float64, np.float32) if d != np.dtype(dtype)],
        order="C",
        ensure_all_finite="allow-nan" if allow_nan else True,
    )
    if sp.issparse(X):
        X = canonical_sparse(X)
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


def validate_dask_X(estimator, X, *, reset, whom):
    """Check what a dask X shows without computing it: 2-D, numbers, known row chunks,
    the feature count. Its values are checked by the first pass over its blocks
    (:func:`check_block_counts`).

    Returns X with one column chunk, and the dtype its blocks are converted to
    (float32 and float64 are kept, anything else becomes float64).
    """
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D dask array in {whom}, got {X.ndim}-D with shape {X.shape}."
        )
    if np.dtype(X.dtype).kind not in "biuf":
        raise ValueError(f"dask array of dtype {X.dtype} passed to {whom}: X must hold numbers.")
    if any(math.isnan(size) for size in X.chunks[0]):
        raise ValueError(
            f"The dask array passed to {whom} has unknown chunk sizes; call "
            "X.compute_chunk_sizes() first."
        )
    if min(X.shape) < 1:
        raise ValueError(f"Found an empty dask array of shape {X.shape} in {whom}.")
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    return X, np.dtype(dtype)


def check_block_counts(counts, whom, non_negative):
    """The checks of :func:`validate_X` from the counts of a pass over X's blocks:
    ``n_nonfinite``, and ``n_negative`` with ``first_negative`` (row, column, value)."""
    if counts["n_nonfinite"]:
        raise ValueError(
            f"Input X passed to {whom} contains NaN or infinity ({counts['n_nonfinite']} "
            "entries)."
        )
    if non_negative:
        refuse_negative(counts["n_negative"], counts["first_negative"], whom)


def check_zeros_for_beta(data, beta):
    """Refuse X with zeros for ``beta_loss <= 0`` (as scikit-learn does)."""
    if beta <= 0 and data.n_observed_zeros:
        raise ValueError(
            "When beta_loss <= 0 and X contains zeros, the solver may diverge. "
            "Please add small values to X, or use a positive beta_loss."
        )


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
    if is_torch_tensor(A):
        A = torch_to_numpy(A, whom)
    try:
        A = check_array(A, dtype=None, input_name=whom)
    except ValueError as exc:
        if whom in str(exc):
            raise
        raise ValueError(f"{whom}: {exc}") from exc
    if A.shape != tuple(shape):
        which = ("first" if A.ndim == 2 and A.shape[1] == shape[1] else
                 "second" if A.ndim == 2 and A.shape[0] == shape[0] else None)
        wrong = f"wrong {which} dimension" if which else "wrong shape"
        raise ValueError(
            f"Array with {wrong} passed to {whom}: expected {tuple(shape)}, got "
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
    if (indices.min() < 0 or indices.max() >= n_components
            or np.unique(indices).size != indices.size):
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
