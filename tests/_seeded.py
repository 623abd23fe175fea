"""Fits shared by tests/test_reliability.py and the fresh Python processes it starts
(importing this module imports neither PyTorch nor pandas)."""

import scipy.sparse as sp

from sklearn_nmfx import MUNMF, SGDNMF, AutogradNMF, TruncatedSVDTopics

# small and fast settings; the defaults are exercised by the other test files
FAST = {
    MUNMF: {"max_iter": 30},
    SGDNMF: {"max_iter": 5, "batch_size": 4},
    AutogradNMF: {"max_iter": 40},
    TruncatedSVDTopics: {},
}


def seeded_fits(X_dense, classes):
    """components_ of every class, dense and CSR, for random_state=7."""
    out = {}
    for cls in classes:
        params = {"init": "random"} if cls is not TruncatedSVDTopics else {
            "algorithm": "randomized"}
        for X in (X_dense, sp.csr_matrix(X_dense)):
            model = cls(n_components=2, random_state=7, **{**FAST[cls], **params})
            out[cls.__name__, sp.issparse(X)] = model.fit(X).components_
    return out
