"""TruncatedSVDTopics: accuracy against ARPACK and scikit-learn, signs, devices, dtypes."""

import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD

from sklearn_nmfx import TruncatedSVDTopics
from sklearn_nmfx._kernels.svd import flip_signs

pytest.importorskip("torch")


def _sparse(seed=0, shape=(120, 80), density=0.1, dtype=np.float64):
    return sp.random(*shape, density=density, format="csr", random_state=seed, dtype=dtype)


# A sketch as wide as the narrow side of X makes the randomized solver exact.
EXACT = {"n_oversamples": 200}


def _angle(A, B):
    return np.degrees(scipy.linalg.subspace_angles(A.T, B.T).max())


@pytest.mark.parametrize("device", [None, "torch"])
@pytest.mark.parametrize("algorithm", ["randomized", "arpack"])
def test_matches_exact_svd(device, algorithm):
    X = _sparse()
    svd = TruncatedSVDTopics(5, algorithm=algorithm, random_state=0, device=device,
                             **EXACT).fit(X)
    U, S, Vt = np.linalg.svd(X.toarray(), full_matrices=False)
    np.testing.assert_allclose(svd.singular_values_, S[:5], rtol=1e-6)
    assert _angle(svd.components_, Vt[:5]) < 1e-3
    np.testing.assert_allclose(svd.components_ @ svd.components_.T, np.eye(5), atol=1e-10)


@pytest.mark.parametrize("device", [None, "torch"])
def test_attributes_like_sklearn(device):
    X = _sparse(1)
    ours = TruncatedSVDTopics(4, random_state=0, device=device, **EXACT).fit(X)
    ref = TruncatedSVD(4, algorithm="arpack", random_state=0).fit(X)
    np.testing.assert_allclose(ours.singular_values_, ref.singular_values_, rtol=1e-6)
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-5)
    np.testing.assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_,
                               rtol=1e-5)
    # same sign convention as scikit-learn (svd_flip with u_based_decision=False)
    np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-6)
    assert ours.n_components_ == 4


def test_signs_largest_loading_positive():
    X = _sparse(2)
    svd = TruncatedSVDTopics(6, random_state=0).fit(X)
    largest = np.argmax(np.abs(svd.components_), axis=1)
    assert np.all(svd.components_[np.arange(6), largest] > 0)
    signs, flipped = flip_signs(-svd.components_)
    np.testing.assert_array_equal(signs, -1)
    np.testing.assert_allclose(flipped, svd.components_)


@pytest.mark.parametrize("device", [None, "torch"])
@pytest.mark.parametrize("algorithm", ["randomized", "arpack"])
def test_fit_transform_is_fit_then_transform(device, algorithm):
    X = _sparse(3)
    svd = TruncatedSVDTopics(3, algorithm=algorithm, random_state=0, device=device,
                             **EXACT)
    W = svd.fit_transform(X)
    np.testing.assert_array_equal(W, svd.transform(X))
    np.testing.assert_allclose(W, X @ svd.components_.T, rtol=1e-10)
    # inverse_transform maps back to the best rank-3 approximation
    U, S, Vt = np.linalg.svd(X.toarray(), full_matrices=False)
    best = (U[:, :3] * S[:3]) @ Vt[:3]
    np.testing.assert_allclose(svd.inverse_transform(W), best, atol=1e-8)


@pytest.mark.parametrize("device", [None, "torch"])
def test_float32_kept_and_sparse_not_densified(device, monkeypatch):
    X = _sparse(4, dtype=np.float32)
    # any densification of the sparse input would go through toarray / todense
    monkeypatch.setattr(sp.csr_matrix, "toarray", _forbidden)
    monkeypatch.setattr(sp.csr_matrix, "todense", _forbidden)
    svd = TruncatedSVDTopics(3, random_state=0, device=device)
    W = svd.fit_transform(X)
    assert W.dtype == np.float32
    for name in ("components_", "singular_values_", "explained_variance_",
                 "explained_variance_ratio_"):
        assert getattr(svd, name).dtype == np.float32, name
    assert svd.transform(X).dtype == np.float32


def _forbidden(*args, **kwargs):
    raise AssertionError("sparse X was densified")


def test_numpy_and_torch_agree():
    X = _sparse(5)
    a = TruncatedSVDTopics(4, algorithm="randomized", random_state=3).fit(X)
    b = TruncatedSVDTopics(4, random_state=3, device="torch").fit(X)
    assert (a.algorithm_, b.algorithm_) == ("randomized", "randomized")
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-8)
    np.testing.assert_allclose(a.singular_values_, b.singular_values_, rtol=1e-10)


def test_auto_algorithm_is_randomized_as_in_scikit_learn():
    X = _sparse(7, shape=(30, 20))
    auto = TruncatedSVDTopics(3, random_state=0).fit(X)
    randomized = TruncatedSVDTopics(3, algorithm="randomized", random_state=0).fit(X)
    assert auto.algorithm_ == "randomized"
    np.testing.assert_array_equal(auto.components_, randomized.components_)
    assert TruncatedSVDTopics(20, random_state=0).fit(X).algorithm_ == "randomized"
    assert TruncatedSVDTopics(3, device="torch").fit(X).algorithm_ == "randomized"


def test_dense_and_tall_input():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 30))  # tall, signed
    svd = TruncatedSVDTopics(5, random_state=0, **EXACT).fit(X)
    S = np.linalg.svd(X, compute_uv=False)
    np.testing.assert_allclose(svd.singular_values_, S[:5], rtol=1e-6)


def test_too_many_components():
    X = _sparse(6, shape=(10, 8))
    with pytest.raises(ValueError, match="n_components=9 must be <="):
        TruncatedSVDTopics(9).fit(X)
    with pytest.raises(ValueError, match="algorithm='arpack'"):
        TruncatedSVDTopics(8, algorithm="arpack").fit(X)
    assert TruncatedSVDTopics(8, random_state=0).fit(X).components_.shape == (8, 8)


@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_seed_corpus_matches_arpack(seed_corpus, random_state):
    """The issue's bar: >= 0.999 of ARPACK's explained variance, < 5 degrees."""
    _, _, X = seed_corpus
    ref = TruncatedSVD(5, algorithm="arpack", random_state=0).fit(X)
    for algorithm in ("auto", "randomized"):
        ours = TruncatedSVDTopics(5, algorithm=algorithm, random_state=random_state).fit(X)
        ratio = ours.explained_variance_ratio_.sum() / ref.explained_variance_ratio_.sum()
        assert ratio >= 0.999
        assert _angle(ours.components_, ref.components_) < 5.0
    # the randomized solver on torch as well
    torch_fit = TruncatedSVDTopics(5, random_state=random_state, device="torch").fit(X)
    assert _angle(torch_fit.components_, ref.components_) < 5.0


@pytest.mark.parametrize("device", [None, "torch"])
@pytest.mark.parametrize("dtype, scale", [(np.float64, 1e300), (np.float32, 1e30)])
def test_overflow_advice_fits_the_dtype(device, dtype, scale):
    """Near the top of the dtype's range the variances would overflow: refused before
    the work (no raw NumPy warning), the message says to divide X, and to use float64
    only to a caller whose X is not float64 already."""
    rng = np.random.RandomState(0)
    X = (rng.rand(20, 10) * scale).astype(dtype)
    model = TruncatedSVDTopics(2, random_state=0, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="would overflow.*Divide X") as info:
            model.fit(X)
    assert ("use float64" in str(info.value)) == (dtype == np.float32)
    assert not hasattr(model, "components_")


def test_variances_that_overflow_with_many_features_are_refused():
    """The total variance, up to n_features times the largest entry squared, is
    what must fit: X just under the square root of float64's largest value, with
    4000 features, is refused before the work, without a NumPy warning."""
    X = np.sign(np.random.RandomState(0).randn(50, 4000)) * 1.3e154
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="total variance.*would overflow.*Divide X"):
            TruncatedSVDTopics(2, random_state=0).fit(X)
        model = TruncatedSVDTopics(2, random_state=0).fit(X[:, :4] * 1e-10)
    assert np.all(np.isfinite(model.explained_variance_))


def test_too_many_components_for_the_memory_are_refused_before_the_work():
    n = 10**6
    rows = np.arange(2000)
    X = sp.csr_matrix((np.ones(2000), (rows, rows * 7)), shape=(n, n))
    for algorithm in ("randomized", "arpack"):
        with pytest.raises(ValueError, match=r"n_components=20000 is too large for "
                                             r"TruncatedSVDTopics.fit: the SVD's bases"):
            TruncatedSVDTopics(20000, algorithm=algorithm).fit(X)
