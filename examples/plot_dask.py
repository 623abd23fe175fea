"""
=====================================================
Scaling out: topics on a Dask cluster
=====================================================

:class:`~sklearn_nmfx.MUNMF` fits a ``dask.array.Array`` chunked by rows: every
iteration is one pass over the row blocks on the workers, and only
``n_features x n_components`` numbers per block cross the network. Here a
``LocalCluster`` of two workers stands in for a real cluster (a
``distributed.Client`` pointed at a scheduler's address works the same way).

1. The TF-IDF matrix of the fast.ai lesson's four-newsgroup corpus (four 20
   Newsgroups categories) as a
   dask array of 8 row chunks of scipy.sparse matrices, fitted on the cluster and
   compared with the in-memory fit: the same topics and the same error.
2. ``transform`` of a dask array returns a lazy dask array, row chunk by row chunk.
3. ``GridSearchCV`` over ``n_components``, its fits run on the cluster's workers
   through joblib's Dask backend.

Needs ``pip install "sklearn-nmfx[dask]"``.
"""

import time
import warnings

import dask.array as da
import joblib
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import fetch_20newsgroups
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sklearn_nmfx import MUNMF
from sklearn_nmfx.topics import show_topics

categories = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]
documents = fetch_20newsgroups(
    subset="train", categories=categories, remove=("headers", "footers", "quotes")
).data
vectorizer = TfidfVectorizer(stop_words="english")
X = vectorizer.fit_transform(documents)
vocabulary = vectorizer.get_feature_names_out()

cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                       dashboard_address=":0")
client = Client(cluster)

# %%
# The same fit, in memory and on the cluster
# ------------------------------------------
# ``from_array`` cuts the CSR matrix into 8 row chunks (``asarray=False`` keeps
# them sparse). The fit keeps them on the workers, since they take far less than
# half of the workers' memory; a larger X would be read again at each pass.
X_dask = da.from_array(X, chunks=(-(-X.shape[0] // 8), X.shape[1]), asarray=False)

start = time.perf_counter()
in_memory = MUNMF(n_components=5, random_state=0).fit(X)
memory_s = time.perf_counter() - start
start = time.perf_counter()
on_dask = MUNMF(n_components=5, random_state=0).fit(X_dask)
dask_s = time.perf_counter() - start

relative = abs(on_dask.reconstruction_err_ - in_memory.reconstruction_err_) / (
    in_memory.reconstruction_err_)
print(f"in memory: error {in_memory.reconstruction_err_:.6f}, {in_memory.n_iter_} "
      f"iterations, {memory_s:.1f} s")
print(f"on Dask:   error {on_dask.reconstruction_err_:.6f}, {on_dask.n_iter_} "
      f"iterations, {dask_s:.1f} s (relative difference {relative:.1e})")
for k, line in enumerate(show_topics(on_dask, vocabulary, n_top=8), start=1):
    print(f"Topic # {k:02d}: {line}")

fig, ax = plt.subplots(figsize=(6, 3.5))
for model, label, style in [(in_memory, "in memory", "-"), (on_dask, "Dask", "--")]:
    iterations = np.arange(len(model.loss_curve_)) * 10
    ax.plot(iterations, model.loss_curve_, style, label=label)
ax.set(xlabel="iteration", ylabel="objective", title="MUNMF, four newsgroups, k=5")
ax.legend()
fig.tight_layout()

# %%
# ``transform`` stays lazy
# ------------------------
# The rows of W are independent, so ``transform`` maps over the row chunks and
# returns a dask array; nothing runs until it is computed.
W = on_dask.transform(X_dask)
print(type(W).__name__, W.shape, W.chunks[0])
dominant = W.argmax(axis=1).compute()
print("documents per dominant topic:", np.bincount(dominant, minlength=5))

# %%
# ``GridSearchCV`` on the cluster
# -------------------------------
# Cross-validation fits many small models: joblib's Dask backend runs them on
# the workers (here on in-memory text, through the TF-IDF pipeline). The
# default scoring is MUNMF's ``score`` (topic stability on the held-out fold).
pipeline = Pipeline([
    ("tfidf", TfidfVectorizer(stop_words="english", min_df=2)),
    ("nmf", MUNMF(random_state=0, max_iter=50)),
])
search = GridSearchCV(pipeline, {"nmf__n_components": [3, 5, 8]}, cv=3)
with warnings.catch_warnings(), joblib.parallel_backend("dask"):
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(documents)
for k, score in zip(search.cv_results_["param_nmf__n_components"],
                    search.cv_results_["mean_test_score"]):
    print(f"k={k}: topic stability {score:+.3f}")
print("best:", search.best_params_)

client.close()
cluster.close()
