"""A model depends on the data, not on how they are stored: dense, CSR, CSC, COO and
the sparse-array classes of the same values give the same fit, on every estimator
and device."""

import importlib.util
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from sklearn_nmfx import MUNMF, SGDNMF, AutogradNMF, TruncatedSVDTopics

FORMATS = {
    "csr_matrix": sp.csr_matrix, "csc_matrix": sp.csc_matrix, "coo_matrix": sp.coo_matrix,
    "csr_array": sp.csr_array, "csc_array": sp.csc_array,
}
DEVICES = [None] + (["torch"] if importlib.util.find_spec("torch") else [])
CASES = [
    (MUNMF, {}), (MUNMF, {"init": "random"}), (MUNMF, {"beta_loss": "kullback-leibler"}),
    (MUNMF, {"beta_loss": 0.5, "max_iter": 50}),
    (SGDNMF, {}), (SGDNMF, {"beta_loss": "kullback-leibler", "batch_size": 16}),
    (SGDNMF, {"beta_loss": 1.5, "batch_size": 16, "fresh_restarts": True}),
    (AutogradNMF, {"max_iter": 100}), (TruncatedSVDTopics, {}),
]


def _data():
    rng = np.random.default_rng(0)
    X = rng.random((60, 40))
    X[X < 0.5] = 0.0  # half the entries zero, so the stored counts differ by format
    return X


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("cls", "params"), CASES,
                         ids=[f"{c.__name__}-{p}" for c, p in CASES])
def test_every_storage_format_gives_the_same_fit(cls, params, device):
    X = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = cls(n_components=10, random_state=0, device=device, **params).fit(X)
        for name, to_format in FORMATS.items():
            model = cls(n_components=10, random_state=0, device=device, **params)
            W = model.fit_transform(to_format(X))
            scale = np.abs(reference.components_).max()
            np.testing.assert_allclose(model.components_, reference.components_,
                                       rtol=0, atol=1e-10 * scale, err_msg=name)
            np.testing.assert_allclose(W, reference.transform(X), rtol=0,
                                       atol=1e-10 * np.abs(W).max(), err_msg=name)
            if hasattr(reference, "n_iter_"):
                assert model.n_iter_ == reference.n_iter_, name
