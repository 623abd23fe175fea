"""
===================================================
Streaming a corpus with SGDNMF.partial_fit
===================================================

When a corpus does not fit in memory, or arrives over time, :class:`~sklearn_nmfx.SGDNMF`
learns topics one chunk of documents at a time with ``partial_fit``: each chunk's
topic weights are solved with the current topics, then the topics are updated
from statistics that summarize every chunk seen so far (older chunks fade with
``forget_factor``). Memory is bounded by the chunk: the model keeps two small
matrices, ``k x k`` and ``k x n_features``, and never the documents.

A streamed vocabulary must be fixed in advance. Here a
:class:`~sklearn.feature_extraction.text.TfidfVectorizer` learns it, and the
document frequencies, from a first sample of the stream (a
:class:`~sklearn.feature_extraction.text.HashingVectorizer` needs no sample, but
gives no term names). The stream is the four 20 Newsgroups categories of the fast.ai NMF lesson
in chunks of 250 posts; after every chunk the reconstruction error on held-out
posts (the ``test`` subset) is measured, and compared with a batch fit on all
the posts at once.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import fetch_20newsgroups
from sklearn.feature_extraction.text import TfidfVectorizer

from sklearn_nmfx import SGDNMF
from sklearn_nmfx.topics import show_topics

categories = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]
remove = ("headers", "footers", "quotes")
train = fetch_20newsgroups(subset="train", categories=categories, remove=remove,
                           shuffle=True, random_state=0).data
test = fetch_20newsgroups(subset="test", categories=categories, remove=remove).data


def stream(documents, chunk_size=250):
    """Chunks of documents, as a reader of a large corpus would yield them."""
    for start in range(0, len(documents), chunk_size):
        yield documents[start:start + chunk_size]


# The vocabulary (and idf weights) from the first 500 posts of the stream
vectorizer = TfidfVectorizer(stop_words="english", min_df=2, max_features=5000)
vectorizer.fit(train[:500])
vocabulary = vectorizer.get_feature_names_out()
X_test = vectorizer.transform(test)


def heldout_error(model):
    """Relative Frobenius error of the held-out posts, W fitted with H fixed."""
    W = model.transform(X_test)
    residual = X_test.toarray() - W @ model.components_
    return np.linalg.norm(residual) / np.linalg.norm(X_test.toarray())


# %%
# Learning from the stream
# ------------------------
model = SGDNMF(n_components=5, random_state=0)
seen, errors = [], []
n_seen = 0
for chunk in stream(train):
    model.partial_fit(vectorizer.transform(chunk))
    n_seen += len(chunk)
    seen.append(n_seen)
    errors.append(heldout_error(model))
    print(f"{n_seen:5d} posts seen, held-out relative error {errors[-1]:.4f}")

batch = SGDNMF(n_components=5, random_state=0).fit(vectorizer.transform(train))
batch_error = heldout_error(batch)
print(f"batch fit on all {len(train)} posts: held-out relative error {batch_error:.4f}")

# %%
# The topics of the stream and of the batch fit
print("streamed:")
for line in show_topics(model, vocabulary, n_top=8):
    print("  ", line)
print("batch:")
for line in show_topics(batch, vocabulary, n_top=8):
    print("  ", line)

# %%
# The held-out error falls as chunks arrive and ends close to the batch fit's.
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(seen, errors, marker="o", label="partial_fit, after each chunk")
ax.axhline(batch_error, color="gray", linestyle="--", label="fit on all posts")
ax.set(xlabel="posts seen", ylabel="held-out relative error",
       title="SGDNMF on a stream of 20 Newsgroups posts")
ax.legend()
fig.tight_layout()
plt.show()
