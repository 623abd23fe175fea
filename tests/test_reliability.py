"""Reliability (issue 7): every bad input answered clearly, nothing lost, nothing
silently wrong; round trips, reproducibility and concurrency, for every estimator on
the NumPy backend and on PyTorch (CPU)."""

import functools
import importlib.util
import pickle
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd  # a test dependency (the [test] extra)
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.utils import get_tags

from sklearn_nmfx import MUNMF, SGDNMF, AutogradNMF, TruncatedSVDTopics
from sklearn_nmfx._backend import DataMatrix

from ._seeded import FAST, seeded_fits
from .conftest import unsorted_csr

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

try:
    import torch
except ImportError:  # the NumPy backend is tested without PyTorch too
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

NMF_CLASSES = [MUNMF, SGDNMF, AutogradNMF]


def _cases(classes):
    """(class, device) pairs: each class on NumPy and on PyTorch's CPU (AutogradNMF
    runs on PyTorch only, so once)."""
    out = []
    for cls in classes:
        devices = [None] if cls is AutogradNMF else [None, "torch"]
        for device in devices:
            needs = torch is None and (device or cls is AutogradNMF)
            marks = [needs_torch] if needs else []
            out.append(pytest.param(cls, device, marks=marks,
                                    id=f"{cls.__name__}-{device or 'numpy'}"))
    return out


ALL = _cases([MUNMF, SGDNMF, AutogradNMF, TruncatedSVDTopics])
NMF = _cases(NMF_CLASSES)


def make(cls, device=None, n_components=2, **params):
    return cls(n_components=n_components, random_state=0, device=device,
               **{**FAST[cls], **params})


@functools.cache
def reference_W(cls, device, sparse):
    """fit_transform of the float64 reference data (_sparse_data(), as an ndarray or
    CSR), computed once per case: the tests compare other inputs against it."""
    X = _sparse_data()
    W = make(cls, device).fit_transform(sp.csr_matrix(X) if sparse else X)
    W.setflags(write=False)
    return W


@functools.cache
def fitted(cls, device, n_features):
    """A model fitted on data(n_features=n_features), shared by tests that only call
    its non-mutating methods."""
    return make(cls, device).fit(data(n_features=n_features))


def data(n_samples=8, n_features=6, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    return (rng.rand(n_samples, 3) @ rng.rand(3, n_features) + 0.1).astype(dtype)


def fingerprint(A):
    """Everything that identifies the caller's array bit for bit."""
    if sp.issparse(A):
        parts = [A.format, A.shape, A.dtype]
        for name in ("data", "indices", "indptr", "row", "col", "offsets"):
            if hasattr(A, name):
                part = getattr(A, name)
                parts.append((name, part.dtype, part.tobytes()))
        return tuple(parts)
    if torch is not None and isinstance(A, torch.Tensor):
        return (A.device, A.dtype, A.shape, A.detach().cpu().numpy().tobytes())
    A_np = np.asarray(A)
    content = pickle.dumps(A_np.tolist()) if A_np.dtype == object else A_np.tobytes()
    return (type(A), A_np.shape, A_np.dtype, content, A_np.flags.writeable)


def assert_finite(*arrays):
    for A in arrays:
        assert np.all(np.isfinite(A)), "non-finite values in a result"


# -- bad X -------------------------------------------------------------------------
def _string_rows():
    return np.array([["1", "2"], ["3", "4"]])


BAD_X = {
    # id: (builder, exception, message pattern)
    "1-D": (lambda: np.ones(5), ValueError, "Expected 2D array"),
    "3-D": (lambda: np.ones((2, 3, 4)), ValueError, "dim 3"),
    "scalar": (lambda: 3.0, ValueError, "Expected 2D array"),
    "None": (lambda: None, (ValueError, TypeError), "2D array|None"),
    "no rows": (lambda: np.empty((0, 5)), ValueError, "0 sample"),
    "no columns": (lambda: np.empty((5, 0)), ValueError, "0 feature"),
    "sparse no rows": (lambda: sp.csr_matrix((0, 5)), ValueError, "0 sample"),
    "complex": (lambda: data().astype(complex), ValueError, "Complex data"),
    "strings": (_string_rows, TypeError, "strings"),
    "list of strings": (lambda: _string_rows().tolist(), TypeError, "strings"),
    "object strings": (lambda: np.array([["a", 1.0], [2.0, 3.0]], dtype=object),
                       ValueError, "could not convert string"),
    "object dict": (lambda: np.array([[{}, 1.0], [2.0, 3.0]], dtype=object),
                    TypeError, "argument must be"),
    "dates": (lambda: np.ones((3, 2), dtype="datetime64[s]"), TypeError, "dates"),
    "time spans": (lambda: np.ones((3, 2), dtype="timedelta64[s]"), TypeError, "time spans"),
    "DataFrame of dates": (lambda: pd.DataFrame({"a": [1.0, 2.0],
                                                 "b": pd.to_datetime(["2020-01-01"] * 2)}),
                           TypeError, "dates"),
    "ragged list": (lambda: [[1.0, 2.0], [3.0]], ValueError, "inhomogeneous"),
    "sparse complex": (lambda: sp.csr_matrix(data().astype(complex)), ValueError,
                       "Complex data"),
    "DataFrame of text": (lambda: pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}),
                          ValueError, "could not convert string"),
    "DataFrame of categories": (lambda: pd.DataFrame({"a": pd.Categorical(["x", "y"]),
                                                      "b": [1.0, 2.0]}),
                                ValueError, "could not convert string"),
    "np.matrix": (lambda: np.matrix(data()), TypeError, "np.matrix"),
    "dict": (lambda: {"a": [1.0, 2.0]}, TypeError, "dict"),
    "inf": (lambda: np.where(data() > 1.0, np.inf, data()), ValueError, "infinity"),
    "sparse inf": (lambda: sp.csr_matrix(np.where(data() > 1.0, np.inf, data())),
                   ValueError, "infinity"),
    "-inf": (lambda: np.where(data() > 1.0, -np.inf, data()), ValueError, "infinity"),
    "huge float64": (lambda: np.full((4, 3), 1e308) * np.array([1.0, 1.5, 1.7]),
                     (ValueError, RuntimeError), "Rescale X|overflow"),
}


@pytest.mark.parametrize("cls, device", ALL)
@pytest.mark.parametrize("bad", list(BAD_X))
def test_bad_X_gives_a_clear_error_in_fit_and_transform(cls, device, bad):
    build, error, match = BAD_X[bad]
    X_bad = build()
    shape = getattr(X_bad, "shape", ())
    before = fingerprint(X_bad) if len(shape) > 0 else None
    with pytest.raises(error, match=match):
        make(cls, device).fit(X_bad)
    # a fitted model with as many features as X_bad: transform must say the same
    n_features = shape[1] if len(shape) == 2 and shape[1] else 6
    if isinstance(X_bad, list) and bad != "ragged list":
        n_features = len(X_bad[0])
    with pytest.raises(error, match=match):
        fitted(cls, device, n_features).transform(X_bad)
    if before is not None:
        assert fingerprint(X_bad) == before


@pytest.mark.parametrize("cls, device", ALL)
@pytest.mark.parametrize("sparse", [False, True])
def test_nan_follows_the_allow_nan_tag_and_never_leaks_out(cls, device, sparse):
    X = data()
    X[1, 2] = np.nan
    X_in = sp.csr_matrix(X) if sparse else X
    model = make(cls, device)
    if not get_tags(model).input_tags.allow_nan:
        with pytest.raises(ValueError, match="NaN"):
            model.fit(X_in)
        return
    try:
        W = model.fit_transform(X_in)
    except ValueError as exc:  # e.g. missing values supported in dense X only
        assert "NaN" in str(exc)
        return
    assert_finite(W, model.components_, model.transform(X_in))


@pytest.mark.parametrize("cls, device", ALL)
def test_masked_arrays_never_use_their_hidden_values(cls, device):
    X = data()
    hidden = np.zeros(X.shape, bool)
    hidden[2, 3] = True
    X_masked = np.ma.masked_array(X.copy(), mask=hidden)
    X_masked.data[2, 3] = -1e3  # hidden: must not be read as an entry
    before = fingerprint(X_masked.data), fingerprint(X_masked.mask)
    model = make(cls, device)
    if get_tags(model).input_tags.allow_nan:  # masked entries are missing values
        X_nan = X.copy()
        X_nan[2, 3] = np.nan
        np.testing.assert_array_equal(model.fit_transform(X_masked),
                                      make(cls, device).fit_transform(X_nan))
    else:
        with pytest.raises(ValueError, match="masked array with 1 masked entries"):
            model.fit(X_masked)
    nothing_hidden = np.ma.masked_array(X, mask=np.zeros(X.shape, bool))
    np.testing.assert_array_equal(make(cls, device).fit_transform(nothing_hidden),
                                  make(cls, device).fit_transform(X))
    assert (fingerprint(X_masked.data), fingerprint(X_masked.mask)) == before


@pytest.mark.parametrize("cls, device", NMF)
@pytest.mark.parametrize("fmt", ["dense", "csr", "csc", "coo"])
def test_negative_values_say_how_many_and_where_the_first_is(cls, device, fmt):
    X = data()
    X[3, 4] = -2.5
    X[5, 1] = -1.0
    X_in = X if fmt == "dense" else sp.coo_matrix(X).asformat(fmt)
    pattern = (rf"Negative values in data passed to {cls.__name__}.fit: 2 negative "
               r"entries, the first at row 3, column 4 \(value -2.5\)")
    with pytest.raises(ValueError, match=pattern):
        make(cls, device).fit(X_in)
    model = make(cls, device).fit(data())
    with pytest.raises(ValueError, match=rf"{cls.__name__}.transform: 2 negative entries"):
        model.transform(X_in)


@pytest.mark.parametrize("cls, device", NMF)
@pytest.mark.parametrize("sorted_indices", [True, False])
def test_duplicate_sparse_entries_are_summed_before_the_sign_check(cls, device,
                                                                   sorted_indices):
    # (0, 1) is stored twice, -1 and 3: the entry is 2, X is non-negative
    order = [0, 1, 2, 3, 4] if sorted_indices else [1, 0, 2, 3, 4]  # row 0: 1, 0, 1
    X_dup = sp.csr_matrix((np.array([4.0, -1.0, 3.0, 1.0, 2.0])[order],
                           np.array([0, 1, 1, 0, 2])[order],
                           np.array([0, 3, 5])), shape=(2, 3))
    assert X_dup.has_sorted_indices == sorted_indices
    before = fingerprint(X_dup)
    W_dup = make(cls, device).fit_transform(X_dup)
    canonical = X_dup.copy()
    canonical.sum_duplicates()
    np.testing.assert_allclose(W_dup, make(cls, device).fit_transform(canonical),
                               rtol=1e-12, atol=1e-14)
    assert fingerprint(X_dup) == before


# -- inputs that are accepted and converted ------------------------------------------
def _readonly(A):
    A = A.copy()
    A.setflags(write=False)
    return A


def _memmap(tmp_path, A):
    path = tmp_path / "X.dat"
    out = np.memmap(path, dtype=A.dtype, mode="w+", shape=A.shape)
    out[:] = A
    out.flush()
    return np.memmap(path, dtype=A.dtype, mode="r", shape=A.shape)


def _explicit_zeros(A):
    rows, cols = np.nonzero(A == 0)
    rows, cols = rows[::2], cols[::2]  # half of the zeros of A stored explicitly
    stored = np.concatenate([A[A != 0], np.zeros(rows.size)])
    all_rows = np.concatenate([np.nonzero(A != 0)[0], rows])
    all_cols = np.concatenate([np.nonzero(A != 0)[1], cols])
    X = sp.coo_matrix((stored, (all_rows, all_cols)), shape=A.shape).tocsr()
    assert X.nnz > np.count_nonzero(A)
    return X


def _int64_indices(A):
    X = sp.csr_matrix(A)
    return sp.csr_matrix((X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64)),
                         shape=X.shape)


DENSE_EQUIVALENTS = {
    "list": lambda A, tmp: A.tolist(),
    "tuple of tuples": lambda A, tmp: tuple(map(tuple, A)),
    "DataFrame": lambda A, tmp: pd.DataFrame(A),
    "object dtype": lambda A, tmp: A.astype(object),
    "read-only": lambda A, tmp: _readonly(A),
    "memmap": lambda A, tmp: _memmap(tmp, A),
    "Fortran order": lambda A, tmp: np.asfortranarray(A),
    "strided view": lambda A, tmp: np.repeat(np.repeat(A, 2, axis=0), 3, axis=1)[::2, ::3],
}
SPARSE_EQUIVALENTS = {
    "csc": lambda A: sp.csc_matrix(A),
    "coo": lambda A: sp.coo_matrix(A),
    "dok": lambda A: sp.dok_matrix(A),
    "lil": lambda A: sp.lil_matrix(A),
    "bsr": lambda A: sp.bsr_matrix(A),
    "dia": lambda A: sp.dia_matrix(A),
    "csr_array": lambda A: sp.csr_array(A),
    "coo_array": lambda A: sp.coo_array(A),
    "unsorted indices": unsorted_csr,
    "explicit zeros": _explicit_zeros,
    "int64 indices": _int64_indices,
    "sparse DataFrame": lambda A: pd.DataFrame.sparse.from_spmatrix(
        sp.csr_matrix(A)),
}


def _sparse_data():
    X = data(10, 7)
    X[X < 1.0] = 0
    return X


@pytest.mark.parametrize("cls, device", ALL)
@pytest.mark.parametrize("kind", list(DENSE_EQUIVALENTS))
def test_dense_equivalents_give_the_result_of_the_float64_array(cls, device, kind, tmp_path):
    X_in = DENSE_EQUIVALENTS[kind](_sparse_data(), tmp_path)
    before = fingerprint(X_in) if isinstance(X_in, np.ndarray) else None
    W = make(cls, device).fit_transform(X_in)
    np.testing.assert_allclose(W, reference_W(cls, device, False), rtol=1e-9, atol=1e-12)
    if before is not None:
        assert fingerprint(X_in) == before


@pytest.mark.parametrize("cls, device", ALL)
def test_read_only_input_is_read_without_warnings(cls, device):
    X = _readonly(_sparse_data())
    # unsorted too: SciPy sorts such a matrix in place in X.max() and other methods
    X_sparse, X_unsorted = sp.csr_matrix(X), unsorted_csr(X)
    for part in (X_sparse.data, X_sparse.indices, X_sparse.indptr, X_unsorted.data,
                 X_unsorted.indices, X_unsorted.indptr):
        part.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        for X_in in (X, X_sparse, X_unsorted):
            model = make(cls, device)
            assert_finite(model.fit_transform(X_in), model.transform(X_in))


@pytest.mark.parametrize("cls, device", ALL)
@pytest.mark.parametrize("kind", list(SPARSE_EQUIVALENTS))
def test_sparse_formats_give_the_result_of_csr(cls, device, kind):
    X = _sparse_data()
    X_in = SPARSE_EQUIVALENTS[kind](X)
    before = fingerprint(X_in) if sp.issparse(X_in) else None
    W = make(cls, device).fit_transform(X_in)
    np.testing.assert_allclose(W, reference_W(cls, device, True), rtol=1e-9, atol=1e-12)
    if before is not None:
        assert fingerprint(X_in) == before


@pytest.mark.parametrize("cls, device", ALL)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, bool, np.float16])
def test_integer_boolean_and_half_input_is_converted_to_float64(cls, device, dtype):
    X = (data() * 3).astype(dtype)
    W = make(cls, device).fit_transform(X)
    assert W.dtype == np.float64
    np.testing.assert_allclose(W, make(cls, device).fit_transform(X.astype(np.float64)),
                               rtol=1e-9, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("cls, device", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_torch_tensors_are_read_like_numpy_arrays(cls, device, dtype):
    X = data(dtype=dtype)
    tensor = torch.from_numpy(X.copy()).requires_grad_(True)
    before = fingerprint(tensor)
    model = make(cls, device)
    W = model.fit_transform(tensor)
    assert W.dtype == dtype and isinstance(W, np.ndarray)
    np.testing.assert_array_equal(W, make(cls, device).fit_transform(X))
    np.testing.assert_array_equal(model.transform(tensor), model.transform(X))
    dense = torch.from_numpy(_sparse_data().astype(dtype))
    W_csr = make(cls, device).fit_transform(sp.csr_matrix(dense.numpy()))
    for sparse in (dense.to_sparse_csr(), dense.to_sparse_coo(), dense.to_sparse_csc()):
        np.testing.assert_array_equal(make(cls, device).fit_transform(sparse), W_csr)
    assert fingerprint(tensor) == before


@needs_torch
@pytest.mark.parametrize("cls, device", ALL)
def test_a_tensor_on_another_device_than_device_is_refused(cls, device):
    X = torch.ones((4, 3), device="meta")  # a device every PyTorch build has
    with pytest.raises(ValueError, match="tensor on device 'meta'.*device="):
        make(cls, device).fit(X)


@pytest.mark.skipif(torch is None or not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("cls", [MUNMF, SGDNMF, AutogradNMF, TruncatedSVDTopics])
def test_cuda_tensors_go_with_device_cuda_only(cls):
    X = data()
    on_gpu = torch.from_numpy(X).to("cuda")
    W = make(cls, "cuda").fit_transform(on_gpu)
    np.testing.assert_allclose(W, make(cls, "cuda").fit_transform(X), rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="tensor on device 'cuda:0'"):
        make(cls, None).fit(on_gpu)  # the CPU: NumPy, or PyTorch for AutogradNMF
    with pytest.raises(ValueError, match="tensor on device 'cpu'"):
        make(cls, "cuda").fit(torch.from_numpy(X))


# -- degenerate but valid data: no NaN, no division by zero -----------------------
DEGENERATE = {
    "all zero": lambda: np.zeros((6, 5)),
    "all zero sparse": lambda: sp.csr_matrix((6, 5)),
    "zero rows and columns": lambda: np.where(np.eye(6, 5) + np.eye(6, 5, 1) > 0, data(6, 5), 0)
    * (np.arange(6)[:, None] != 2) * (np.arange(5)[None, :] != 3),
    "one row": lambda: data(1, 6),
    "one column": lambda: data(7, 1),
    "1 x 1": lambda: np.array([[2.0]]),
    "one non-zero": lambda: sp.csr_matrix(([3.0], ([2], [1])), shape=(5, 4)),
    "constant": lambda: np.full((5, 4), 0.7),
    "tiny float32": lambda: (data() * 1e-30).astype(np.float32),
    "mixed scales": lambda: data() * np.logspace(-30, 0, 6),
    "mixed scales float32": lambda: (data() * np.logspace(-30, 0, 6)).astype(np.float32),
}


@pytest.mark.parametrize("cls, device", ALL)
@pytest.mark.parametrize("case", list(DEGENERATE))
def test_degenerate_data_fits_without_nan_or_floating_point_errors(cls, device, case):
    X = DEGENERATE[case]()
    n_components = 1 if cls is TruncatedSVDTopics else 2
    model = make(cls, device, n_components=n_components)
    with warnings.catch_warnings(), np.errstate(divide="raise", invalid="raise"):
        warnings.simplefilter("error", RuntimeWarning)  # numpy's divide/invalid warnings
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            W = model.fit_transform(X)
        except ValueError as exc:  # data out of the dtype's safe range: said so
            assert "float32" in str(exc) and "Rescale X" in str(exc)
            assert case == "tiny float32"
            return
        W_again = model.transform(X)
        if X.shape[0] > n_components:
            assert np.isfinite(model.score(X))
        else:  # topics are compared over the rows: more rows than topics needed
            with pytest.raises(ValueError, match="needs more rows than components"):
                model.score(X)
    assert_finite(W, W_again, model.components_, model.inverse_transform(W))
    for value in vars(model).values():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert_finite(value)
    if cls is not TruncatedSVDTopics:
        assert np.all(W >= 0) and np.all(model.components_ >= 0)
    X_dense = X.toarray() if sp.issparse(X) else np.asarray(X)
    zero_rows = ~np.any(X_dense, axis=1)
    if cls is not TruncatedSVDTopics and zero_rows.any():
        assert np.all(W[zero_rows] == 0)


@pytest.mark.parametrize("cls, device", [case for case in NMF if case.values[0] is not SGDNMF])
@pytest.mark.parametrize("beta_loss", ["kullback-leibler", "itakura-saito", 0.5, 1.5, 3.0])
@pytest.mark.parametrize("case", ["all zero", "zero rows and columns", "one non-zero",
                                  "mixed scales float32"])
def test_beta_losses_on_degenerate_data_take_no_log_of_zero(cls, device, beta_loss, case):
    X = DEGENERATE[case]()
    for X_in in (X, sp.csr_matrix(X)):
        model = make(cls, device, beta_loss=beta_loss)
        with warnings.catch_warnings(), np.errstate(divide="raise", invalid="raise",
                                                    over="raise"):
            warnings.simplefilter("error", RuntimeWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)
            try:
                W = model.fit_transform(X_in)
            except ValueError as exc:  # Itakura-Saito needs X > 0: said so
                assert beta_loss == "itakura-saito" and "X contains zeros" in str(exc)
                continue
            W_again = model.transform(X_in)
        assert_finite(W, W_again, model.components_, model.reconstruction_err_,
                      model.loss_curve_)


@pytest.mark.parametrize("cls, device", NMF)
@pytest.mark.parametrize("scale, dtype", [(1e30, np.float32), (1e-30, np.float32),
                                          (1e200, np.float64), (1e-200, np.float64)])
def test_data_out_of_the_dtype_range_is_reported_not_returned_as_nonsense(
        cls, device, scale, dtype):
    X = (data() * scale).astype(dtype)
    with pytest.raises(ValueError, match=rf"largest entry of X.*{np.dtype(dtype).name}.*Rescale X"):
        make(cls, device).fit(X)
    model = make(cls, device).fit(data(dtype=dtype))
    with pytest.raises(ValueError, match="Rescale X"):
        model.transform(X)


def test_svd_score_that_overflows_is_reported():
    X = data()
    model = make(TruncatedSVDTopics).fit(X)
    # the refit on X (score's first step) would square entries of order 1e200
    with pytest.raises(ValueError, match=r"too large for TruncatedSVDTopics.fit in float64"):
        model.score(X * 1e200)


@pytest.mark.parametrize("cls, device", [case for case in NMF if case.values[0] is not AutogradNMF])
@pytest.mark.parametrize("scale, dtype", [(1e-12, np.float32), (1e-20, np.float64),
                                          (1e-100, np.float64)])
def test_small_data_in_range_fit_as_well_as_unit_data(cls, device, scale, dtype):
    """Within the accepted range, NMF of c * X is NMF of X scaled: no absolute
    threshold (NNDSVD's eps, a float32 tiny in HALS) may zero the start or freeze
    the updates of small data."""
    X = data(12, 8, dtype=np.float64)

    def relative_error(X_fit):  # default settings: fits run to convergence
        model = cls(n_components=2, random_state=0, device=device).fit(X_fit)
        W = model.transform(X_fit).astype(np.float64)
        return np.linalg.norm(X_fit - W @ model.components_) / np.linalg.norm(X_fit)

    unit = relative_error(X.astype(dtype))
    small = relative_error((X * scale).astype(dtype))
    assert small == pytest.approx(unit, rel=2e-2)  # NNDSVDa itself is not scale-free


@pytest.mark.parametrize("device", [None, pytest.param("torch", marks=needs_torch)])
@pytest.mark.parametrize("scale, dtype", [(1e30, np.float32), (1e-30, np.float32),
                                          (1e200, np.float64), (1e-200, np.float64)])
def test_svd_is_scale_free(device, scale, dtype):
    X = data(dtype=dtype)
    reference = make(TruncatedSVDTopics, device).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw overflow or underflow warning either
        try:
            model = make(TruncatedSVDTopics, device).fit(X * dtype(scale))
        except ValueError as exc:  # explained variance ~ scale**2 would overflow: said so
            assert "would overflow" in str(exc) and scale > np.sqrt(np.finfo(dtype).max)
            return
    np.testing.assert_allclose(model.components_, reference.components_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model.singular_values_ / scale, reference.singular_values_,
                               rtol=1e-4)
    # the ratio does not depend on the scale (it underflowed to 0 for tiny X)
    np.testing.assert_allclose(model.explained_variance_ratio_,
                               reference.explained_variance_ratio_, rtol=1e-4)


@pytest.mark.parametrize("cls, device", NMF)
def test_custom_start_with_exact_zeros_gives_no_nan(cls, device):
    X = data()
    W0, H0 = np.ones((8, 3)), np.ones((3, 6))
    W0[:, 1] = 0  # a dead component: 0/0 in a careless update
    H0[2, :] = 0
    W0[4] = 0
    with np.errstate(divide="raise", invalid="raise"):
        model = make(cls, device, n_components=3, init="custom")
        W = model.fit_transform(X, W=W0, H=H0)
    assert_finite(W, model.components_)


# -- parameters ----------------------------------------------------------------------
BAD_PARAMS = [
    ({"n_components": 0}, "n_components"),
    ({"n_components": -1}, "n_components"),
    ({"n_components": 2.5}, "n_components"),
    ({"n_components": "3"}, "n_components"),
    ({"random_state": "seed"}, "random_state"),
    ({"random_state": np.random.default_rng(0)}, "random_state"),
    ({"device": "gpu"}, "is not a device"),
    ({"device": ""}, "is not a device"),
    ({"device": 3}, "device must be None"),
    ({"device": ["cpu"]}, "device must be None"),
]
NMF_BAD_PARAMS = [
    ({"max_iter": 0}, "max_iter"),
    ({"max_iter": 2.5}, "max_iter"),
    ({"tol": -1e-3}, "tol"),
    ({"tol": np.nan}, "tol"),
    ({"init": "svd"}, "init"),
    ({"alpha_W": -1.0}, "alpha_W"),
    ({"l1_ratio": 1.5}, "l1_ratio"),
    ({"verbose": -1}, "verbose"),
]
OWN_BAD_PARAMS = {
    MUNMF: [({"beta_loss": "hinge"}, "beta_loss"), ({"beta_loss": np.nan}, "beta_loss"),
            ({"beta_loss": np.inf}, "beta_loss")],
    SGDNMF: [({"learning_rate": "optimal"}, "learning_rate"),
             ({"batch_size": 0}, "batch_size"), ({"forget_factor": -0.5}, "forget_factor"),
             ({"max_no_improvement": 0}, "max_no_improvement"),
             ({"fresh_restarts_max_iter": 0}, "fresh_restarts_max_iter"),
             ({"transform_max_iter": 1.5}, "transform_max_iter"),
             ({"beta_loss": "hinge"}, "beta_loss"),
             ({"beta_loss": 1.0, "learning_rate": "lipschitz"}, "learning_rate")],
    AutogradNMF: [({"optimizer": "rmsprop"}, "optimizer"), ({"beta_loss": -np.inf}, "beta_loss"),
                  ({"nonnegativity": "abs"}, "nonnegativity"),
                  ({"optimizer": int}, "optimizer")],
    TruncatedSVDTopics: [({"algorithm": "lapack"}, "algorithm"),
                         ({"n_iter": 0}, "n_iter"), ({"tol": -1.0}, "tol")],
}


@pytest.mark.parametrize("cls, device", ALL)
def test_bad_parameter_values_are_named(cls, device):
    cases = BAD_PARAMS + OWN_BAD_PARAMS[cls] + (NMF_BAD_PARAMS if cls in NMF_CLASSES else [])
    for params, match in cases:
        model = make(cls, device)
        model.set_params(**params)
        # without PyTorch, a device string is refused as needing it (ImportError)
        if isinstance(params.get("device"), str) and importlib.util.find_spec("torch") is None:
            match = r"device=.* needs PyTorch"
        with pytest.raises((ValueError, TypeError, ImportError), match=match):
            model.fit(data())


@pytest.mark.parametrize("cls, device", ALL)
def test_too_many_components(cls, device):
    X = data(5, 4)
    if cls is TruncatedSVDTopics:
        for algorithm in ("auto", "randomized", "arpack"):
            with pytest.raises(ValueError, match=r"n_components=5 must be <"):
                make(cls, device, n_components=5, algorithm=algorithm).fit(X)
        return
    for init in ("nndsvd", "nndsvda", "nndsvdar"):
        with pytest.raises(ValueError, match=rf"init = '{init}' can only be used"):
            make(cls, device, n_components=6, init=init).fit(X)
    with pytest.raises(ValueError, match=r"n_components=1000000 is too large.*GiB"):
        make(cls, device, n_components=10**6, init="random").fit(X)  # 32 TB: not tried
    for init in (None, "random"):  # more components than features is allowed, as in sklearn
        model = make(cls, device, n_components=6, init=init).fit(X)
        assert model.components_.shape == (6, 4)
        assert_finite(model.components_, model.transform(X))


@needs_torch
@pytest.mark.parametrize("cls", [MUNMF, SGDNMF, AutogradNMF, TruncatedSVDTopics])
def test_unavailable_devices(cls):
    if not torch.cuda.is_available():
        for spec in ("cuda", "cuda:1", torch.device("cuda", 0)):
            with pytest.raises(RuntimeError, match="CUDA is not available"):
                make(cls, spec).fit(data())
    for spec in ("meta", torch.device("meta")):
        with pytest.raises(ValueError, match="meta"):
            make(cls, spec).fit(data())
    for spec in ("xpu", "hpu", "vulkan", "privateuseone"):  # devices of other builds
        if spec == "xpu" and hasattr(torch, "xpu") and torch.xpu.is_available():
            continue
        with pytest.raises(RuntimeError, match=f"device='{spec}' was requested"):
            make(cls, spec).fit(data())


@pytest.mark.parametrize("cls", [MUNMF, SGDNMF, AutogradNMF, TruncatedSVDTopics])
def test_torch_missing_gives_an_import_error_naming_the_extra(cls, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    devices = [None, "torch", "cuda"] if cls is AutogradNMF else ["torch", "cuda"]
    for device in devices:
        with pytest.raises(ImportError, match=r"pip install 'sklearn-nmfx\[torch\]'"):
            make(cls, device).fit(data())
    if cls is not AutogradNMF:
        assert_finite(make(cls).fit_transform(data()))


# -- custom W and H ----------------------------------------------------------------
def _custom_cases():
    W, H = np.ones((8, 2)), np.ones((2, 6))
    return {
        "W of wrong shape": ({"W": np.ones((7, 2)), "H": H}, ValueError,
                             r"wrong first dimension.*input W"),
        # 'auto': the rank of H, so W
        "H of wrong shape": ({"W": W, "H": np.ones((3, 6))}, ValueError,
                             r"wrong (first|second) dimension.*input [WH]"),
        "float32 W": ({"W": W.astype(np.float32), "H": H}, TypeError, "same dtype as X"),
        "integer H": ({"W": W, "H": H.astype(int)}, TypeError, "same dtype as X"),
        "string W": ({"W": W.astype(str), "H": H}, TypeError, "same dtype as X"),
        "negative H": ({"W": W, "H": -H}, ValueError, r"Negative values.*input H.*12 negative"),
        "NaN W": ({"W": W * np.nan, "H": H}, ValueError, r"input W.*NaN"),
        "inf H": ({"W": W, "H": H * np.inf}, ValueError, r"input H.*infinity"),
        "zero W": ({"W": 0 * W, "H": H}, ValueError, r"input W.*full of zeros"),
        "sparse H": ({"W": W, "H": sp.csr_matrix(H)}, TypeError, r"input H.*dense"),
        "1-D W": ({"W": np.ones(8), "H": H}, ValueError, r"2D array.*|input W"),
        "3-D H": ({"W": W, "H": H[None]}, ValueError, r"input H.*dim 3"),
        "scalar H": ({"W": W, "H": 1.0}, ValueError, r"input H"),
        "only W": ({"W": W}, ValueError, "needs both W and H"),
    }


@pytest.mark.parametrize("cls, device", NMF)
@pytest.mark.parametrize("n_components", [2, "auto"])
def test_bad_custom_factors(cls, device, n_components):
    X = data()
    for name, (factors, error, match) in _custom_cases().items():
        if n_components == "auto" and name == "W of wrong shape":
            continue  # 'auto' takes n_components from H: the W check then says so
        before = {k: fingerprint(v) for k, v in factors.items()}
        model = make(cls, device, n_components=n_components, init="custom")
        with pytest.raises(error, match=match):
            model.fit(X, **factors)
        assert not hasattr(model, "components_"), name
        assert {k: fingerprint(v) for k, v in factors.items()} == before, name


@pytest.mark.parametrize("cls, device", NMF)
def test_bad_masks(cls, device):
    X = data()
    cases = [(np.ones((8, 5), bool), ValueError, r"mask passed to .*fit has shape \(8, 5\)"),
             (np.full((8, 6), np.nan), ValueError, "mask passed to .*NaN"),
             (np.full((8, 6), "yes"), TypeError, "mask passed to .*booleans"),
             (np.ones(6, bool), ValueError, "2D array")]
    for mask, error, match in cases:
        model = make(cls, device)
        with pytest.raises(error, match=match):
            model.fit(X, mask=mask)
        assert not hasattr(model, "components_")
    model = make(cls, device).fit(X)
    with pytest.raises(ValueError, match=r"mask passed to .*transform has shape"):
        model.transform(X, mask=np.ones((8, 5), bool))


# -- fitted state ------------------------------------------------------------------
@pytest.mark.parametrize("cls, device", ALL)
def test_transform_side_errors(cls, device):
    X = data()
    for method, args in (("transform", (X,)), ("inverse_transform", (np.ones((3, 2)),)),
                         ("score", (X,)), ("get_feature_names_out", ())):
        with pytest.raises(NotFittedError):
            getattr(make(cls, device), method)(*args)
    model = make(cls, device).fit(X)
    with pytest.raises(ValueError, match="X has 5 features, but .* is expecting 6"):
        model.transform(X[:, :5])
    with pytest.raises(ValueError, match="X has 3 columns, but .* has 2 components"):
        model.inverse_transform(np.ones((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        model.inverse_transform(np.full((4, 2), np.nan))
    huge = np.full((4, 2), np.finfo(np.float64).max)
    with np.errstate(over="ignore"):
        overflows = not np.all(np.isfinite(huge @ model.components_))
    assert overflows or cls is TruncatedSVDTopics  # (unit-norm topics may not overflow)
    if overflows:
        with pytest.raises(RuntimeError, match="overflow"):
            model.inverse_transform(huge)
    else:
        assert_finite(model.inverse_transform(huge))
    if cls is not TruncatedSVDTopics:
        with pytest.raises(ValueError, match=r"inverse_transform: 1 negative entry"):
            model.inverse_transform(np.array([[1.0, 0.0], [0.5, -1.0]]))


class _Interrupt:
    """Raises KeyboardInterrupt from the n-th product with X (inside the solver)."""

    def __init__(self, monkeypatch, after=3):
        self.calls = 0
        self.after = after
        original = DataMatrix.matmul

        def matmul(data_matrix, B):
            self.calls += 1
            if self.calls >= self.after:
                raise KeyboardInterrupt
            return original(data_matrix, B)

        monkeypatch.setattr(DataMatrix, "matmul", matmul)


def _state(model):
    return {k: pickle.dumps(v) for k, v in vars(model).items()}


@pytest.mark.parametrize("cls, device", ALL)
def test_an_interrupted_refit_leaves_the_fitted_model_as_it_was(cls, device, monkeypatch):
    params = {"algorithm": "randomized"} if cls is TruncatedSVDTopics else {}
    X = data()
    model = make(cls, device, **params).fit(X)
    state, W = _state(model), model.transform(X)
    interrupt = _Interrupt(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        model.fit(data(10, 6, seed=1))
    assert interrupt.calls >= 3  # it stopped inside the solver, not before
    with pytest.raises(ValueError):  # and a refit refused by validation
        model.fit(np.where(X > 1.0, np.inf, X))
    monkeypatch.undo()
    assert _state(model) == state
    np.testing.assert_array_equal(model.transform(X), W)


@pytest.mark.parametrize("cls, device", ALL)
def test_nan_inside_the_solver_never_reaches_the_model(cls, device, monkeypatch):
    """A product that turns NaN (as an overflow would) makes fit raise, and leaves
    the fitted model as it was."""
    params = {"algorithm": "randomized"} if cls is TruncatedSVDTopics else {}
    X = data()
    model = make(cls, device, **params).fit(X)
    state = _state(model)
    original = DataMatrix.matmul
    monkeypatch.setattr(DataMatrix, "matmul", lambda self, B: original(self, B) * np.nan)
    with pytest.raises(RuntimeError, match="nan|NaN|non-finite|converge"):
        model.fit(X)
    monkeypatch.undo()
    assert _state(model) == state


def test_partial_fit_answers_bad_input_and_keeps_the_model(monkeypatch):
    X = data(12, 6)
    model = make(SGDNMF).partial_fit(X[:6])
    state = _state(model)
    for X_bad, error, match in [(X[6:, :5], ValueError, "5 features"),
                                (-X[6:], ValueError, "partial_fit: 36 negative entries"),
                                (X[6:] * np.inf, ValueError, "infinity"),
                                (X[6:].astype(str), TypeError, "strings"),
                                (X[6:] * 1e300, ValueError, "Rescale X")]:
        with pytest.raises(error, match=match):
            model.partial_fit(X_bad)
        assert _state(model) == state


def test_an_interrupted_partial_fit_leaves_the_model_as_it_was(monkeypatch):
    X = data(12, 6)
    model = make(SGDNMF).partial_fit(X[:6])
    state = _state(model)
    _Interrupt(monkeypatch, after=2)
    with pytest.raises(KeyboardInterrupt):
        model.partial_fit(X[6:])
    monkeypatch.undo()
    assert _state(model) == state


@pytest.mark.parametrize("cls, device", ALL)
@pytest.mark.parametrize("fmt", ["dense", "csr", "csc"])
def test_caller_arrays_are_bit_identical_after_every_method(cls, device, fmt):
    X = _sparse_data()
    X_in = X if fmt == "dense" else sp.csr_matrix(X).asformat(fmt)
    if fmt == "csr":
        X_in = unsorted_csr(X)
    before = fingerprint(X_in)
    model = make(cls, device)
    W = model.fit_transform(X_in)
    W_before = fingerprint(W)
    model.transform(X_in)
    model.inverse_transform(W)
    model.score(X_in)
    assert fingerprint(X_in) == before
    assert fingerprint(W) == W_before
    if cls is not TruncatedSVDTopics:
        W0, H0 = np.full((10, 2), 0.5), np.full((2, 7), 0.5)
        mask = np.ones(X.shape, bool)
        mask[::3, 1] = False
        given = (fingerprint(W0), fingerprint(H0), fingerprint(mask))
        model = make(cls, device, init="custom").fit(X_in, W=W0, H=H0, mask=mask)
        model.transform(X_in, mask=mask)
        assert (fingerprint(W0), fingerprint(H0), fingerprint(mask)) == given
        assert fingerprint(X_in) == before


# -- round trips ---------------------------------------------------------------------
@pytest.mark.parametrize("cls, device", ALL)
def test_pickle_joblib_clone_and_set_params(cls, device, tmp_path):
    X = data()
    model = make(cls, device).fit(X)
    W = model.transform(X)
    joblib.dump(model, tmp_path / "model.joblib")
    for loaded in (pickle.loads(pickle.dumps(model)), joblib.load(tmp_path / "model.joblib")):
        np.testing.assert_array_equal(loaded.transform(X), W)
        np.testing.assert_array_equal(loaded.components_, model.components_)
    fresh = clone(model)
    assert not hasattr(fresh, "components_") and fresh.get_params() == model.get_params()
    np.testing.assert_array_equal(fresh.fit_transform(X), W)
    model.set_params(n_components=3)
    np.testing.assert_array_equal(model.fit_transform(X),
                                  make(cls, device, n_components=3).fit_transform(X))


_BLOCK_TORCH = """
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("PyTorch is hidden in this test")
sys.meta_path.insert(0, _NoTorch())
"""


def _run_python(code):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.slow
@needs_torch
def test_models_fitted_on_torch_load_and_transform_where_torch_is_absent(tmp_path):
    X = data()
    np.save(tmp_path / "X.npy", X)
    expected = {}
    for cls in (MUNMF, SGDNMF, AutogradNMF, TruncatedSVDTopics):
        model = make(cls, "torch").fit(X)
        joblib.dump(model, tmp_path / f"{cls.__name__}.joblib")
        expected[cls.__name__] = model
    code = _BLOCK_TORCH + f"""
import joblib, numpy as np
X = np.load({str(tmp_path / "X.npy")!r})
for name in ("MUNMF", "SGDNMF", "AutogradNMF", "TruncatedSVDTopics"):
    model = joblib.load({str(tmp_path)!r} + "/" + name + ".joblib")
    np.save({str(tmp_path)!r} + "/" + name + "_components.npy", model.components_)
    try:
        model.transform(X)
    except ImportError as exc:
        assert "sklearn-nmfx[torch]" in str(exc), exc
    else:
        raise SystemExit("device='torch' without PyTorch did not raise ImportError")
    if name != "AutogradNMF":  # AutogradNMF runs on PyTorch only
        np.save({str(tmp_path)!r} + "/" + name + "_W.npy",
                model.set_params(device=None).transform(X))
assert "torch" not in sys.modules
"""
    _run_python(code)
    for name, model in expected.items():
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}_components.npy"),
                                      model.components_)
        if name != "AutogradNMF":
            W_numpy = model.set_params(device=None).transform(X)
            np.testing.assert_array_equal(np.load(tmp_path / f"{name}_W.npy"), W_numpy)


# -- reproducibility ---------------------------------------------------------------
@pytest.mark.slow
def test_same_seed_is_bit_identical_across_runs_and_processes(tmp_path):
    classes = [MUNMF, SGDNMF, TruncatedSVDTopics] + ([AutogradNMF] if torch else [])
    X = _sparse_data()
    first, second = seeded_fits(X, classes), seeded_fits(X, classes)
    for key, H in first.items():
        np.testing.assert_array_equal(second[key], H, err_msg=str(key))
    np.save(tmp_path / "X.npy", X)
    _run_python(f"""
import joblib, numpy as np
from sklearn_nmfx import MUNMF, SGDNMF, TruncatedSVDTopics
from tests._seeded import seeded_fits
X = np.load({str(tmp_path / "X.npy")!r})
joblib.dump(seeded_fits(X, [MUNMF, SGDNMF, TruncatedSVDTopics]), {str(tmp_path / "H.joblib")!r})
""")
    other = joblib.load(tmp_path / "H.joblib")  # AutogradNMF: in this process only
    assert set(other) == {key for key in first if key[0] != "AutogradNMF"}
    for key, H in other.items():
        np.testing.assert_array_equal(H, first[key], err_msg=str(key))


# Documented (README and docs/devices.rst): with the same seed and algorithm, NumPy
# and PyTorch results agree to 1e-6 (float64) and 5e-2 (float32) of the largest entry.
CROSS_BACKEND_RTOL = {np.float64: 1e-6, np.float32: 5e-2}


@needs_torch
@pytest.mark.parametrize("cls", [MUNMF, SGDNMF, TruncatedSVDTopics])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_and_torch_agree_within_the_documented_tolerance(cls, dtype):
    X = data(30, 20, dtype=dtype)
    X[X < 1.5] = 0
    params = {"algorithm": "randomized"} if cls is TruncatedSVDTopics else {}
    a = make(cls, None, n_components=3, **params).fit(X)
    b = make(cls, "torch", n_components=3, **params).fit(X)
    tol = CROSS_BACKEND_RTOL[dtype] * np.abs(a.components_).max()
    np.testing.assert_allclose(b.components_, a.components_, rtol=0, atol=tol)
    W_a, W_b = a.transform(X), b.transform(X)
    np.testing.assert_allclose(W_b, W_a, rtol=0, atol=CROSS_BACKEND_RTOL[dtype] * np.abs(W_a).max())


# -- concurrency ---------------------------------------------------------------------
# threads for every case; worker processes (loky) for the NumPy backend (importing
# PyTorch in every worker would cost more than the rest of this file)
GRID_CASES = [
    pytest.param(*case.values, "threading", marks=case.marks, id=f"{case.id}-threading")
    for case in ALL
] + [pytest.param(cls, None, "loky", id=f"{cls.__name__}-numpy-loky")
     for cls in (MUNMF, SGDNMF, TruncatedSVDTopics)]


@pytest.mark.slow
@pytest.mark.parametrize("cls, device, backend", GRID_CASES)
def test_grid_search_in_parallel_matches_serial(cls, device, backend):
    X = data(16, 8)
    grid = {"n_components": [1, 2, 3]}
    serial = GridSearchCV(make(cls, device), grid, cv=2, n_jobs=1).fit(X)
    with joblib.parallel_backend(backend, n_jobs=2):
        parallel = GridSearchCV(make(cls, device), grid, cv=2, n_jobs=2).fit(X)
    np.testing.assert_array_equal(parallel.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_array_equal(parallel.best_estimator_.components_,
                                  serial.best_estimator_.components_)


@pytest.mark.parametrize("cls, device", ALL)
def test_two_estimators_fitting_in_threads_do_not_interfere(cls, device):
    inputs = [data(12, 8, seed=1), sp.csr_matrix(_sparse_data())]
    expected = [make(cls, device).fit_transform(X) for X in inputs]
    results, errors = [None, None], []
    barrier = threading.Barrier(2)

    def work(i):
        try:
            barrier.wait()
            for _ in range(3):
                results[i] = make(cls, device).fit_transform(inputs[i])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)



def test_blas_limit_of_overlapping_fits_is_restored_by_the_last_to_leave():
    """MUNMF's row blocks run on threads with BLAS limited to one thread, a limit that
    is process-wide: fits in threads enter and leave it interleaved (here A in, B in,
    A out, B out), and BLAS must end as it was, not on one thread for good."""
    from threadpoolctl import ThreadpoolController

    from sklearn_nmfx._backend import _one_blas_thread

    controller = ThreadpoolController().select(user_api="blas")

    def blas_threads():
        return [lib.num_threads for lib in controller.lib_controllers]

    before = blas_threads()
    if not before or max(before) < 2:
        pytest.skip("BLAS runs on one thread here: a limit of one cannot be seen")
    first, second = _one_blas_thread(controller), _one_blas_thread(controller)
    first.__enter__()
    second.__enter__()
    assert max(blas_threads()) == 1
    first.__exit__(None, None, None)
    assert max(blas_threads()) == 1  # the second fit is still inside
    second.__exit__(None, None, None)
    assert blas_threads() == before
