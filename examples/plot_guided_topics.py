"""
Guided topics: a fixed "space" topic from seed words
====================================================

NMF finds whatever topics explain the documents best; sometimes we already know a
topic we want and only need the others learned. Here a "space" topic is built from
a few seed words, held fixed (bit for bit) during the fit, and the remaining topics
of the fast.ai lesson's four 20 Newsgroups categories (atheism, religion, graphics, space)
are learned around it.
"""

# %%
# The documents, as TF-IDF
# ------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import fetch_20newsgroups
from sklearn.feature_extraction.text import TfidfVectorizer

from sklearn_nmfx import MUNMF
from sklearn_nmfx.topics import dominant_topic, top_terms, topic_from_words

categories = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]
newsgroups = fetch_20newsgroups(
    subset="train", categories=categories, remove=("headers", "footers", "quotes")
)
vectorizer = TfidfVectorizer(stop_words="english")
X = vectorizer.fit_transform(newsgroups.data)
vocabulary = vectorizer.get_feature_names_out()

# %%
# A topic from seed words
# -----------------------
# :func:`~sklearn_nmfx.topics.topic_from_words` turns seed words into a topic vector
# (a row of H). Alone, the seed words make a narrow topic; given the documents, the
# topic also takes the words that the documents with a seed word use more than the
# others do.
space_words = ["space", "nasa", "orbit", "launch", "shuttle"]
space = topic_from_words(space_words, vectorizer, X)
# its ten strongest words (equal weights in the order of their terms)
print("space topic:", " ".join(vocabulary[np.lexsort((vocabulary, -space))[:10]]))

# %%
# Fit with the space topic fixed
# ------------------------------
# ``fixed_components=[0]`` keeps component 0 equal to the row given in ``H``; the
# three other components start from ``init`` and are learned.
model = MUNMF(n_components=4, random_state=1)
W = model.fit_transform(X, H=space[None, :], fixed_components=[0])
assert np.array_equal(model.components_[0], space)  # untouched by the fit

for index, terms in enumerate(top_terms(model, vocabulary, n_top=8)):
    label = "fixed" if index in model.fixed_components_ else "learned"
    print(f"Topic # {index + 1:02d} ({label}):", " ".join(terms))

# %%
# Which documents the guided topic takes
# --------------------------------------
# The dominant topic of each document, per newsgroup: the fixed topic gathers the
# sci.space posts, the learned ones share out the rest (posts left empty by the
# preprocessing have no topic).
topic, _ = dominant_topic(None, W=W)
shares = np.array([
    [np.mean(topic[newsgroups.target == group] == k) for k in range(model.n_components_)]
    for group in range(len(newsgroups.target_names))
])
fig, ax = plt.subplots(figsize=(7, 3.5))
image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
ax.set_xticks(range(model.n_components_),
              ["space (fixed)"] + [f"topic {k + 1}" for k in range(1, model.n_components_)])
ax.tick_params(axis="x", labelrotation=20)
ax.set_yticks(range(len(newsgroups.target_names)), newsgroups.target_names)
for (row, col), share in np.ndenumerate(shares):
    ax.text(col, row, f"{share:.2f}", ha="center", va="center")
fig.colorbar(image, label="share of the newsgroup's posts")
ax.set_title("Dominant topic of each post")
fig.tight_layout()
plt.show()
