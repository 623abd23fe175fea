import functools
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, settings

# CI is reproducible: the same examples every run, no timing-based failures.
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=25)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The test matrices are tiny: PyTorch's intra-op threads only cost there (and stall
# badly when the two cores are busy), so the tests run PyTorch on one thread.
try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # the NumPy backend is tested without PyTorch too
    torch = None


def pytest_collection_modifyitems(config, items):
    """Without PyTorch (an install without the [torch] extra), the tests of
    AutogradNMF (PyTorch only) and the cases run on a torch device skip with that
    reason; everything else runs."""
    if torch is not None:
        return
    skip = pytest.mark.skip(reason="needs PyTorch (the [torch] extra): not installed")
    for item in items:
        case = item.nodeid.split("::", 1)[-1]
        if "autograd" in case.lower() or _on_torch(item):
            item.add_marker(skip)


def _on_torch(item):
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any(isinstance(value, str) and value.split(":")[0] in ("torch", "cuda", "mps")
               for name, value in params.items() if "device" in name)

SEED_CATEGORIES = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]


def _data_home():
    home = os.environ.get("SCIKIT_LEARN_DATA")
    if home and (Path(home) / "20news-bydate_py3.pkz").exists():
        return home
    return None


@functools.cache
def _newsgroups_unreadable():
    """Why this scikit-learn cannot read the cached 20 Newsgroups, or None."""
    from sklearn.datasets import fetch_20newsgroups

    try:
        fetch_20newsgroups(subset="train", categories=["sci.space"],
                           download_if_missing=False)
    except Exception as exc:  # an older scikit-learn cannot read a newer one's cache
        import sklearn

        return (f"the cached 20 Newsgroups cannot be read by scikit-learn "
                f"{sklearn.__version__} ({type(exc).__name__}: {exc})")
    return None


def skip_unless_newsgroups_readable():
    """Skip, with the reason, unless 20 Newsgroups is cached and readable here."""
    if _data_home() is None:
        pytest.skip("20 Newsgroups is not cached: set SCIKIT_LEARN_DATA to a folder "
                    "holding 20news-bydate_py3.pkz (CI sets it)")
    reason = _newsgroups_unreadable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def seed_corpus():
    """The fast.ai lesson's four-newsgroup corpus, TF-IDF (2034 x 26576)."""
    skip_unless_newsgroups_readable()
    from sklearn.datasets import fetch_20newsgroups
    from sklearn.feature_extraction.text import TfidfVectorizer

    documents = fetch_20newsgroups(
        subset="train", categories=SEED_CATEGORIES,
        remove=("headers", "footers", "quotes"), download_if_missing=False,
    ).data
    vectorizer = TfidfVectorizer(stop_words="english")
    X = vectorizer.fit_transform(documents)
    return documents, vectorizer, X


def low_rank_data(n_samples=40, n_features=30, rank=4, noise=0.01, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = rng.rand(n_samples, rank) @ rng.rand(rank, n_features)
    return (X + noise * rng.rand(n_samples, n_features)).astype(dtype)


def unsorted_csr(A):
    """CSR copy of A (dense or sparse) with the entries of every row in reverse
    order: unsorted indices, as ``TfidfVectorizer`` gives."""
    X = sp.csr_matrix(A, copy=True)
    for i in range(X.shape[0]):
        start, stop = X.indptr[i], X.indptr[i + 1]
        X.indices[start:stop] = X.indices[start:stop][::-1].copy()
        X.data[start:stop] = X.data[start:stop][::-1].copy()
    X.has_sorted_indices = False
    return X
