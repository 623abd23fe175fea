"""sklearn_nmfx.non_negative_factorization: scikit-learn's function, on MUNMF."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import non_negative_factorization as sklearn_nnf

from sklearn_nmfx import MUNMF, non_negative_factorization

from .conftest import low_rank_data


def _error(X, W, H):
    return np.linalg.norm(X - W @ H)


@pytest.mark.parametrize("to_format", [np.asarray, sp.csr_matrix])
def test_it_returns_w_h_n_iter_of_the_estimator(to_format):
    X = low_rank_data(40, 25)
    W, H, n_iter = non_negative_factorization(to_format(X), n_components=4, random_state=0)
    model = MUNMF(4, random_state=0)
    np.testing.assert_array_equal(W, model.fit_transform(to_format(X)))
    np.testing.assert_array_equal(H, model.components_)
    assert n_iter == model.n_iter_
    W_sk, H_sk, _ = sklearn_nnf(X, n_components=4, solver="mu", random_state=0)
    assert _error(X, W, H) <= _error(X, W_sk, H_sk) * (1 + 1e-6)


def test_update_h_false_keeps_h_and_solves_w():
    X = low_rank_data(40, 25)
    _, H, _ = non_negative_factorization(X, n_components=4, random_state=0)
    X_new = low_rank_data(15, 25, seed=3)
    W, H_out, n_iter = non_negative_factorization(X_new, H=H, update_H=False)
    np.testing.assert_array_equal(H_out, H)
    assert W.shape == (15, 4) and np.all(W >= 0) and n_iter >= 1
    W_sk, _, _ = sklearn_nnf(X_new, H=H, n_components=4, update_H=False, solver="mu")
    assert _error(X_new, W, H) <= _error(X_new, W_sk, H) * (1 + 1e-6)
    H_before = H.copy()
    non_negative_factorization(X_new, H=H, update_H=False)
    np.testing.assert_array_equal(H, H_before)  # the caller's H is not modified


def test_bad_calls_name_the_problem():
    X = low_rank_data(20, 10)
    with pytest.raises(ValueError, match="needs the fixed H"):
        non_negative_factorization(X, update_H=False)
    with pytest.raises(ValueError, match="n_components=2"):
        non_negative_factorization(X, H=np.ones((3, 10)), n_components=2, update_H=False)
    with pytest.warns(RuntimeWarning, match="initial W is not used"):
        non_negative_factorization(X, W=np.ones((20, 2)), H=np.ones((2, 10)), update_H=False)
    with pytest.raises(ValueError, match="solver='mu'"):
        non_negative_factorization(X, n_components=2, solver="cd")
