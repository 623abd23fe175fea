"""
======================================================
Choosing the number of topics: held-out score and NPMI
======================================================

How many topics does the fast.ai lesson's four-newsgroup corpus (four 20 Newsgroups
categories) hold? Two
ways of asking, computed in one :class:`~sklearn.model_selection.GridSearchCV`
run over ``n_components`` with 3-fold cross-validation:

- the estimator's own ``score``: bi-cross-validation on the held-out documents
  (W of each document is fitted on half of its terms, with the topics fixed,
  and judged on the other half; minus the mean squared error, higher is
  better). It is what ``GridSearchCV`` uses when no ``scoring`` is given.
- topic coherence: NPMI of the top 10 words of each topic, from their
  co-occurrence in the held-out documents (:func:`sklearn_nmfx.topics.coherence_scorer`).

The held-out score measures how well the topics predict unseen text; coherence
how interpretable their top words are. Both curves are plotted. Each criterion's
choice is the smallest k whose mean over the folds is within one standard error
of the best mean (:func:`sklearn_nmfx.model_selection.smallest_k_within_one_se`
with ``paired=True``, the rule the command line's ``--k-range`` applies): a curve
that levels off does not then pick a larger k for noise. The standard error is
that of each k's difference from the best k, fold by fold: a fold's held-out
score depends mostly on which documents it holds, an offset shared by every k
that the differences cancel. The topics of the model refitted with the
held-out score's choice are printed.
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
    ("nmf", MUNMF(random_state=1, max_iter=100)),
])
ks = [2, 3, 4, 5, 6, 8, 10, 14]


def heldout_score(estimator, X, y=None):
    """The estimator's default score (bi-cross-validation)."""
    return estimator.score(X)


search = GridSearchCV(
    pipeline,
    {"nmf__n_components": ks},
    scoring={"held-out score": heldout_score, "NPMI": coherence_scorer("npmi", n_top=10)},
    refit=False,
    cv=3,
    n_jobs=2,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(documents)

results = search.cv_results_
score = results["mean_test_held-out score"]
npmi = results["mean_test_NPMI"]


def one_se_choice(metric):
    """The one-standard-error rule on one metric of the search."""
    keys = {"mean_test_score": f"mean_test_{metric}", "std_test_score": f"std_test_{metric}"}
    return smallest_k_within_one_se({
        "param_nmf__n_components": results["param_nmf__n_components"],
        **{key: results[source] for key, source in keys.items()},
        **{f"split{i}_test_score": results[f"split{i}_test_{metric}"] for i in range(3)},
    }, "n_components", paired=True)


best_by_score = one_se_choice("held-out score")
best_by_npmi = one_se_choice("NPMI")
print(f"k by the held-out score (one-standard-error rule): {best_by_score} "
      f"(best mean at k={ks[int(np.argmax(score))]})")
print(f"k by NPMI coherence (one-standard-error rule): {best_by_npmi} "
      f"(best mean at k={ks[int(np.argmax(npmi))]})")
for k, s, c in zip(ks, score, npmi):
    print(f"  k={k:2d}  held-out score {s:.4e}  NPMI {c:.4f}")

# %%
# What the topics are
# -------------------
# Both criteria have their best mean at k=4 and, by the one-standard-error rule,
# choose k=3: religion (alt.atheism and talk.religion.misc share one vocabulary,
# and no k here splits them), graphics, and space. The fourth topic that k=4 adds
# is no newsgroup but one poster's signature ("ico tek bobbe beauchaine bronx
# manhattan sank queens": Bob Beauchaine's, repeated in many posts), a pattern
# that the held-out score and NPMI reward (its words always occur together) but
# that is not a subject. The topics of the model refitted with the held-out
# score's k:
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    model = pipeline.set_params(nmf__n_components=best_by_score).fit(documents)
for k, line in enumerate(show_topics(model, n_top=8), start=1):
    print(f"Topic # {k:02d}: {line}")

# %%
# Both curves. The held-out score of a fold depends mostly on which documents it
# holds, so each fold's curve is drawn minus its own mean over k (thin lines):
# their common shape, not their offsets, is what chooses k.
folds = np.array([results[f"split{i}_test_held-out score"] for i in range(3)])
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
centered = folds - folds.mean(axis=1, keepdims=True)
ax1.plot(ks, centered.T, color="C0", alpha=0.35, linewidth=1)
ax1.plot(ks, centered.mean(axis=0), marker="o", color="C0", label="mean of the folds")
ax1.axvline(best_by_score, color="gray", linestyle="--")
ax1.set(xlabel="n_components", ylabel="held-out score (-MSE), minus fold mean",
        title="Bi-cross-validation score")
ax1.legend()
ax2.errorbar(ks, npmi, yerr=results["std_test_NPMI"], marker="o", color="C1")
ax2.axvline(best_by_npmi, color="gray", linestyle="--")
ax2.set(xlabel="n_components", ylabel="NPMI (top 10 words)", title="Topic coherence")
fig.tight_layout()
print(f"done in {time.perf_counter() - start:.1f} s")
plt.show()
