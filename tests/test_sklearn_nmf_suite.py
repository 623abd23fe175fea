"""scikit-learn's own tests of NMF, MiniBatchNMF and non_negative_factorization
(``sklearn/decomposition/tests/test_nmf.py`` of the installed scikit-learn), run
against MUNMF, SGDNMF and sklearn_nmfx.non_negative_factorization.

scikit-learn's tests run both of NMF's solvers; MUNMF has the multiplicative one
only, so ``NMF(solver='cd')`` with the Frobenius loss (the only loss scikit-learn's
'cd' takes) runs MUNMF with ``solver='mu'`` here. Any other loss with 'cd' is
passed on as it is: scikit-learn refuses it, and so does MUNMF, in scikit-learn's
words (MUNMF refuses 'cd' for every loss, with advice, tests/test_mu.py).
"""

import re

import pytest

from sklearn_nmfx import MUNMF, SGDNMF, non_negative_factorization

from ._sklearn_suite import load_suite


def _solver(solver, beta_loss):
    """'mu' for the requests scikit-learn's 'cd' would run, else as given."""
    return "mu" if solver == "mu" or beta_loss in ("frobenius", 2, 2.0) else solver


def NMF(*args, solver="mu", beta_loss="frobenius", **kwargs):  # noqa: N802 (scikit-learn's name)
    return MUNMF(*args, solver=_solver(solver, beta_loss), beta_loss=beta_loss, **kwargs)


def nnf(*args, solver="mu", beta_loss="frobenius", **kwargs):
    return non_negative_factorization(*args, solver=_solver(solver, beta_loss),
                                      beta_loss=beta_loss, **kwargs)


PRIVATE = "tests scikit-learn's private functions (sklearn.decomposition._nmf)"

EXCLUDED = {
    "test_initialize_nn_output": PRIVATE,
    "test_initialize_close": PRIVATE,
    "test_initialize_variants": PRIVATE,
    "test_beta_divergence": PRIVATE,
    "test_special_sparse_dot": PRIVATE,
    "test_nmf_multiplicative_update_sparse": PRIVATE,
    "test_minibatch_nmf_partial_fit": (
        "passes in scikit-learn only because fit and partial_fit write into the "
        "caller's H (init='custom') and both estimators end up sharing it as "
        "components_; sklearn-nmfx never modifies the caller's arrays. The steps it "
        "means to count are checked in tests/test_sgd.py."
    ),
}

# wording relaxed, behaviour kept: the same exception, our message for the same fault
# (ours names the estimator that saw it, MUNMF, where scikit-learn's says NMF)
WORDING = {
    re.escape(f"Negative values in data passed to NMF (input {name})"):
        re.escape(f"Negative values in data passed to MUNMF (input {name})")
    for name in "WH"
}
WORDING[re.escape("Array passed to NMF (input H) is full of zeros")] = re.escape(
    "Array passed to MUNMF (input H) is full of zeros")


class _RelaxedPytest:
    """pytest, whose ``raises`` takes our wording for the messages in WORDING."""

    def __getattr__(self, name):
        return getattr(pytest, name)

    @staticmethod
    def raises(expected, *args, match=None, **kwargs):
        return pytest.raises(expected, *args, match=WORDING.get(match, match), **kwargs)


globals().update(load_suite(
    "test_nmf.py",
    "from sklearn.decomposition import NMF, MiniBatchNMF, non_negative_factorization",
    {"NMF": NMF, "MiniBatchNMF": SGDNMF, "non_negative_factorization": nnf},
    EXCLUDED,
    {"pytest": _RelaxedPytest()},
))
