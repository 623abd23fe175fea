"""
==================================================
Topics of 20 Newsgroups with the four estimators
==================================================

The four 20 Newsgroups categories of the fast.ai NMF lesson (atheism, religion, graphics,
space), TF-IDF, and five topics from each estimator of the package, side by
side:

- :class:`~sklearn_nmfx.MUNMF`: NMF by multiplicative updates,
- :class:`~sklearn_nmfx.SGDNMF`: minibatch (online) NMF,
- :class:`~sklearn_nmfx.AutogradNMF`: NMF by PyTorch autograd and Adam,
- :class:`~sklearn_nmfx.TruncatedSVDTopics`: truncated SVD (latent semantic
  indexing).

The three NMF estimators minimize the same objective and find the same five
topics; SVD topics are orthogonal directions with signed weights, so after the
first each mixes themes at its positive pole and contrasts them with others at its
negative pole.
"""

import time
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import fetch_20newsgroups
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer

from sklearn_nmfx import MUNMF, SGDNMF, AutogradNMF, TruncatedSVDTopics
from sklearn_nmfx.topics import show_topics, top_terms_with_weights

categories = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]
documents = fetch_20newsgroups(
    subset="train", categories=categories, remove=("headers", "footers", "quotes")
).data
# min_df=2 drops the terms of a single post: a smaller vocabulary, the same topics
vectorizer = TfidfVectorizer(stop_words="english", min_df=2)
X = vectorizer.fit_transform(documents)
vocabulary = vectorizer.get_feature_names_out()
print(f"{X.shape[0]} documents, {X.shape[1]} terms")

# %%
# Fit the four estimators
# -----------------------
# Every estimator takes ``n_components`` and ``random_state``; all four run on
# the CPU here (``device=None``).
models = {
    "MUNMF": MUNMF(n_components=5, random_state=1),
    "SGDNMF": SGDNMF(n_components=5, random_state=1),
    "AutogradNMF": AutogradNMF(n_components=5, random_state=1),
    "TruncatedSVDTopics": TruncatedSVDTopics(n_components=5, random_state=1),
}
for name, model in models.items():
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    print(f"\n{name} ({time.perf_counter() - start:.1f} s)")
    for k, line in enumerate(show_topics(model, vocabulary, n_top=8), start=1):
        print(f"  Topic # {k:02d}: {line}")

# %%
# Top words of each topic
# -----------------------
# One row per estimator, one column per topic: the eight largest weights of each
# topic (the positive pole for SVD).
n_top = 8
fig, axes = plt.subplots(len(models), 5, figsize=(15, 11))
for row, (name, model) in zip(axes, models.items()):
    topics = top_terms_with_weights(model, vocabulary, n_top, pole="positive")
    for k, (ax, top) in enumerate(zip(row, topics), start=1):
        terms, weights = zip(*top)
        ax.barh(terms[::-1], weights[::-1], color=f"C{k - 1}")
        ax.set_title(f"{name}\nTopic # {k:02d}" if k == 1 else f"Topic # {k:02d}",
                     fontsize=10)
        ax.tick_params(labelsize=8)
fig.tight_layout()
plt.show()
