"""
Topics of 20 Newsgroups with MUNMF
==================================

The seeds' four categories (atheism, religion, graphics, space), TF-IDF, and five
NMF topics, with the top words of each topic drawn as bars.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import fetch_20newsgroups
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from sklearn_nmfx import MUNMF

categories = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]
documents = fetch_20newsgroups(
    subset="train", categories=categories, remove=("headers", "footers", "quotes")
).data

pipe = Pipeline([
    ("tfidf", TfidfVectorizer(stop_words="english")),
    ("nmf", MUNMF(n_components=5, random_state=1)),
]).fit(documents)

vocabulary = pipe["tfidf"].get_feature_names_out()
components = pipe["nmf"].components_
n_top = 8

fig, axes = plt.subplots(1, len(components), figsize=(15, 3.5), sharex=True)
for index, (ax, topic) in enumerate(zip(axes, components), start=1):
    top = topic.argsort()[::-1][:n_top]
    ax.barh(vocabulary[top][::-1], topic[top][::-1])
    ax.set_title(f"Topic # {index:02d}")
    print(f"Topic # {index:02d}:", " ".join(vocabulary[top]))
fig.suptitle(f"MUNMF, reconstruction error {pipe['nmf'].reconstruction_err_:.2f}")
fig.tight_layout()
plt.show()
