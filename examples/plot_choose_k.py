"""
=========================================================
Choosing the number of topics: topic stability and NPMI
=========================================================

How many topics does the fast.ai lesson's four-newsgroup corpus (four 20 Newsgroups
categories) hold? Two ways of asking, computed in one
:class:`~sklearn.model_selection.GridSearchCV` run over ``n_components`` with
3-fold cross-validation:

- the estimator's own ``score``, topic stability: a second model is fitted on the
  held-out documents alone, both models describe those documents as topic
  proportions, the topics are matched one to one by the correlation of their
  proportions, and the score is the sum over the matched topics of
  ``correlation - 1/2``: each topic found again adds to it, each one the held-out
  documents do not reproduce takes from it. It is what ``GridSearchCV`` uses when
  no ``scoring`` is given.
- topic coherence: NPMI of the top 10 words of each topic, from their
  co-occurrence in the held-out documents (:func:`sklearn_nmfx.topics.coherence_scorer`).

Stability asks whether a topic is a pattern of the data or of one sample;
coherence how interpretable its top words are. Both curves are plotted. Each
criterion's choice by the one-standard-error rule is printed too: the smallest
k whose mean over the folds is within one standard error of the best mean
(:func:`sklearn_nmfx.model_selection.smallest_k_within_one_se` with
``paired=True``, the rule the command line's ``--k-range`` applies). The topics of
the model refitted with the stability's best k are printed.
"""

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import fetch_20newsgroups
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sklearn_nmfx import MUNMF
from sklearn_nmfx.model_selection import smallest_k_within_one_se
from sklearn_nmfx.topics import coherence_scorer, show_topics

start = time.perf_counter()
categories = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]
documents = fetch_20newsgroups(
    subset="train", categories=categories, remove=("headers", "footers", "quotes")
).data

pipeline = Pipeline([
    ("tfidf", TfidfVectorizer(stop_words="english", min_df=2)),
    ("nmf", MUNMF(random_state=0)),
])
ks = [1, 2, 3, 4, 5, 6, 8, 10]


def stability(estimator, X, y=None):
    """The estimators' default score (topic stability), as a named metric."""
    return estimator.score(X)


search = GridSearchCV(
    pipeline,
    {"nmf__n_components": ks},
    scoring={"stability": stability, "NPMI": coherence_scorer("npmi", n_top=10)},
    refit=False,
    cv=3,
    n_jobs=2,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(documents)

results = search.cv_results_
score = results["mean_test_stability"]
npmi = results["mean_test_NPMI"]


def one_se_choice(metric):
    """The one-standard-error rule on one metric of the search."""
    keys = {"mean_test_score": f"mean_test_{metric}", "std_test_score": f"std_test_{metric}"}
    return smallest_k_within_one_se({
        "param_nmf__n_components": results["param_nmf__n_components"],
        **{key: results[source] for key, source in keys.items()},
        **{f"split{i}_test_score": results[f"split{i}_test_{metric}"] for i in range(3)},
    }, "n_components", paired=True)


best_by_score = ks[int(np.argmax(score))]
print(f"k by topic stability: best mean at k={best_by_score} "
      f"(one-standard-error rule: {one_se_choice('stability')})")
print(f"k by NPMI coherence: best mean at k={ks[int(np.argmax(npmi))]} "
      f"(one-standard-error rule: {one_se_choice('NPMI')})")
for k, s, sd, c in zip(ks, score, results["std_test_stability"], npmi):
    print(f"  k={k:2d}  stability {s:+.3f} +- {sd:.3f}  NPMI {c:.4f}")

# %%
# What the topics are
# -------------------
# Topic stability has its best mean at k=5, and the one-standard-error rule
# keeps it: graphics, space, two topics of the two religion newsgroups (one of
# belief, "god jesus bible", one of argument, "people don think"), and a fifth
# that is no newsgroup but one poster's signature ("ico tek bobbe beauchaine
# bronx manhattan sank queens": Bob Beauchaine's, repeated in many posts), a
# pattern that every sample of the corpus holds, so it comes back in every
# refit. At k=2 and 3 one fold's two models split the four newsgroups in
# different ways, hence the spread there. NPMI has its best mean at k=4 and
# chooses k=3 by the rule. A choice of k says how many patterns the data
# support; reading the topics says what they are. The topics of the model
# refitted with the stability's k:
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    model = pipeline.set_params(nmf__n_components=best_by_score).fit(documents)
for k, line in enumerate(show_topics(model, n_top=8), start=1):
    print(f"Topic # {k:02d}: {line}")

# %%
# Both curves, mean and standard deviation over the three folds. Topic
# stability does not depend on the scale of the data: ``k/2`` would mean every
# topic found again exactly, ``-k/2`` none.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.errorbar(ks, score, yerr=results["std_test_stability"], marker="o", color="C0")
ax1.axvline(best_by_score, color="gray", linestyle="--")
ax1.set(xlabel="n_components", ylabel="sum of (correlation - 1/2)",
        title="Topic stability (the default score)")
ax2.errorbar(ks, npmi, yerr=results["std_test_NPMI"], marker="o", color="C1")
ax2.axvline(ks[int(np.argmax(npmi))], color="gray", linestyle="--")
ax2.set(xlabel="n_components", ylabel="NPMI (top 10 words)", title="Topic coherence")
fig.tight_layout()
print(f"done in {time.perf_counter() - start:.1f} s")
plt.show()
