"""AutogradNMF: losses, optimizers, non-negativity, properties, and the seed corpus."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning

from sklearn_nmfx import SGDNMF, AutogradNMF
from sklearn_nmfx._backend import resolve_backend
from sklearn_nmfx._kernels.losses import beta_divergence

from .conftest import low_rank_data
from .test_sgd import explained, shared_top_words

torch = pytest.importorskip("torch")



# -- packaging ----------------------------------------------------------------------
@pytest.mark.slow
def test_import_does_not_import_torch():
    code = "import sys, sklearn_nmfx; assert 'torch' not in sys.modules; sklearn_nmfx.AutogradNMF()"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_clear_import_error_without_torch():
    code = (
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ImportError('no torch here')\n"
        "sys.meta_path.insert(0, Hide())\n"
        "import numpy as np\n"
        "from sklearn_nmfx import AutogradNMF\n"
        "try:\n"
        "    AutogradNMF(n_components=1).fit(np.ones((3, 2)))\n"
        "except ImportError as exc:\n"
        "    assert \"pip install 'sklearn-nmfx[torch]'\" in str(exc), exc\n"
        "else:\n"
        "    raise SystemExit('no ImportError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- losses -------------------------------------------------------------------------
def _data(X):
    B = resolve_backend("torch")
    return B, B.data_matrix(X)


@pytest.mark.parametrize("beta", [2.0, 1.0, 1.5, 0.5])
def test_loss_and_gradient_match_dense_autograd_without_densifying(beta):
    from sklearn_nmfx._kernels.autograd import Objective

    rng = np.random.RandomState(0)
    X = sp.random(12, 9, density=0.4, random_state=rng, format="csr") + 0.0
    if beta < 1:
        X = sp.csr_matrix(X.toarray() + 0.1)
    B, data = _data(X)
    W = torch.tensor(rng.rand(12, 3), requires_grad=True)
    Ht = torch.tensor(rng.rand(9, 3), requires_grad=True)
    objective = Objective(data, beta=beta, user_loss=None, l1_W=0.1, l2_W=0.2, l1_H=0.0,
                          l2_H=0.3, eps=1e-12, B=B)
    value = objective.evaluate(W, Ht)
    grads = W.grad.clone(), Ht.grad.clone()

    W2, Ht2 = W.detach().clone().requires_grad_(), Ht.detach().clone().requires_grad_()
    Xd = torch.tensor(X.toarray())
    WH = W2 @ Ht2.T
    if beta == 2:
        dense = 0.5 * torch.sum((Xd - WH) ** 2)
    elif beta == 1:
        mask = Xd > 0
        dense = torch.sum(torch.where(mask, Xd * torch.log(torch.where(mask, Xd, 1) / WH), 0)) \
            - Xd.sum() + WH.sum()
    else:
        dense = torch.sum((Xd**beta + (beta - 1) * WH**beta - beta * Xd * WH ** (beta - 1))
                          / (beta * (beta - 1)))
    dense = dense + 0.1 * W2.sum() + 0.1 * (W2**2).sum() + 0.15 * (Ht2**2).sum()
    dense.backward()
    assert value == pytest.approx(float(dense.detach()), rel=1e-10)
    np.testing.assert_allclose(grads[0], W2.grad, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads[1], Ht2.grad, rtol=1e-9, atol=1e-12)


def test_reconstruction_error_is_the_beta_divergence():
    X = low_rank_data(30, 12, rank=3)
    model = AutogradNMF(n_components=3, beta_loss="kullback-leibler", random_state=0)
    W = model.fit_transform(X)
    B = resolve_backend(None)
    divergence = beta_divergence(B.data_matrix(X), W, model.components_.T, beta=1.0, eps=1e-12)
    assert model.reconstruction_err_ == pytest.approx(np.sqrt(2 * divergence), rel=1e-6)


def test_user_callable_loss():
    X = low_rank_data(30, 12, rank=3)

    def squared(X, WH):
        return 0.5 * torch.sum((X - WH) ** 2)

    # the same steps on the same objective: the same path up to rounding
    params = dict(n_components=3, random_state=0, max_iter=300, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        custom = AutogradNMF(beta_loss=squared, **params).fit(X)
        builtin = AutogradNMF(**params).fit(X)
    np.testing.assert_allclose(custom.loss_curve_, builtin.loss_curve_, rtol=1e-8)
    # the final W is solved again with H fixed, each row stopping by itself, which
    # lets rounding differences show in the error's third digit
    assert custom.reconstruction_err_ == pytest.approx(builtin.reconstruction_err_, rel=1e-2)
    with pytest.raises(TypeError, match="scalar tensor"):
        AutogradNMF(n_components=2, beta_loss=lambda X, WH: (X - WH) ** 2).fit(X)


# -- optimizers and non-negativity -------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("nonnegativity", ["project", "softplus", "exp"])
def test_default_adam_reaches_munmf_error_on_digits(nonnegativity):
    """Adam's defaults (betas 0.8 and 0.9, step 0.1 x the largest start entry) end
    within 3% of MUNMF's error on the digits, k=10; torch's betas (0.9, 0.999)
    with a step of 0.05 ended 14% above it (projection) and 42 to 54% (softplus,
    exp), their steps kept small by early, large gradients."""
    from sklearn.datasets import load_digits

    from sklearn_nmfx import MUNMF

    X = load_digits().data
    reference = MUNMF(10, random_state=0).fit(X).reconstruction_err_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = AutogradNMF(10, random_state=0, nonnegativity=nonnegativity).fit(X)
    assert model.reconstruction_err_ <= 1.03 * reference


@pytest.mark.parametrize("optimizer, kwargs", [
    ("adam", None), ("lbfgs", None), ("sgd", {"momentum": 0.5}),
    (torch.optim.RMSprop, {"lr": 1e-3}),
])
def test_optimizers_reduce_the_loss(optimizer, kwargs):
    X = low_rank_data(40, 15, rank=3)
    model = AutogradNMF(n_components=3, optimizer=optimizer, optimizer_kwargs=kwargs,
                        random_state=0, max_iter=500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(X)
    assert model.loss_curve_[-1] < 0.5 * model.loss_curve_[0]
    assert explained(X, W, model.components_) > 0.98


def test_bad_optimizer_is_rejected():
    with pytest.raises(ValueError, match="optimizer"):
        AutogradNMF(n_components=2, optimizer=dict).fit(np.ones((3, 2)))


@pytest.mark.parametrize("nonnegativity", ["project", "softplus", "exp"])
def test_nonnegativity_schemes(nonnegativity):
    X = low_rank_data(40, 15, rank=3)
    model = AutogradNMF(n_components=3, nonnegativity=nonnegativity, random_state=0)
    W = model.fit_transform(X)
    assert W.min() >= 0 and model.components_.min() >= 0
    assert explained(X, W, model.components_) > 0.98
    if nonnegativity != "project":
        assert model.components_.min() > 0


# -- scikit-learn behaviour ---------------------------------------------------------
def test_float32_reproducible_pickle_and_fit_transform():
    X = sp.csr_matrix(low_rank_data(30, 20, rank=3, dtype=np.float32))
    a = AutogradNMF(n_components=3, random_state=0)
    b = AutogradNMF(n_components=3, random_state=0)
    Wa, Wb = a.fit_transform(X), b.fit_transform(X)
    assert Wa.dtype == np.float32 and a.components_.dtype == np.float32
    np.testing.assert_array_equal(Wa, Wb)
    np.testing.assert_array_equal(a.transform(X), Wa)
    clone = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(clone.transform(X), Wa)
    np.testing.assert_allclose(a.transform(X[5:9]), Wa[5:9], rtol=1e-5, atol=1e-7)


# -- properties ---------------------------------------------------------------------
small_matrices = st.integers(3, 6).flatmap(
    lambda n: st.integers(2, 5).flatmap(
        lambda m: arrays(np.float64, (n, m), elements=st.floats(0, 10, width=32))
    )
)


@settings(max_examples=15)
@given(X=small_matrices, k=st.integers(1, 2), seed=st.integers(0, 2**16))
def test_property_non_negative_finite_and_loss_decreasing(X, k, seed):
    model = AutogradNMF(n_components=k, init="random", random_state=seed, max_iter=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(X)
    assert np.all(np.isfinite(W)) and np.all(np.isfinite(model.components_))
    assert W.min() >= 0 and model.components_.min() >= 0
    curve = np.array(model.loss_curve_)
    # Adam is not monotone step by step, but decreases on average
    assert curve[-1] <= curve[0] * (1 + 1e-9) + 1e-12
    if len(curve) > 2:
        assert np.mean(np.diff(curve)) <= 1e-9 * max(curve[0], 1e-12)


# -- the seed corpus ----------------------------------------------------------------
def test_seed_corpus_topics_explained_and_same_as_sgdnmf(seed_corpus):
    _, vectorizer, X = seed_corpus
    vocabulary = vectorizer.get_feature_names_out()
    reference = NMF(n_components=5, random_state=1).fit(X)
    e_reference = explained(X, reference.transform(X), reference.components_)
    model = AutogradNMF(n_components=5, random_state=1)
    W = model.fit_transform(X)
    assert shared_top_words(reference.components_, model.components_, vocabulary) >= 6
    assert explained(X, W, model.components_) >= 0.99 * e_reference
    sgd = SGDNMF(n_components=5, random_state=1).fit(X)
    assert shared_top_words(sgd.components_, model.components_, vocabulary) >= 6


@pytest.mark.parametrize("scale", [1.0, 1e10])
def test_raw_counts_and_large_scales_fit_like_scikit_learn(scale):
    """Issue 19: on counts of mean ~200 (and 1e10 times them) the default fit ended at
    relative error 0.85 (H = 0 at 1e10); it now fits on X / a power of 4."""
    rng = np.random.RandomState(0)
    L = rng.rand(60, 5) @ rng.rand(5, 40)
    X = rng.poisson(200 * L / L.mean()).astype(float) * scale
    reference = NMF(5, random_state=0, max_iter=1000).fit(X)
    reference_error = np.linalg.norm(X - reference.transform(X) @ reference.components_)
    model = AutogradNMF(5, random_state=0)
    W = model.fit_transform(X)
    assert np.linalg.norm(X - W @ model.components_) <= 1.1 * reference_error
