"""Topic tools: top terms, topic tables, coherence, and dominant topics.

Every helper takes either a fitted estimator (anything with ``components_``:
the four estimators of this package, or scikit-learn's NMF, TruncatedSVD, LDA...)
together with the feature names, or a fitted :class:`~sklearn.pipeline.Pipeline`
whose last step is such an estimator and whose earlier steps (a vectorizer,
optionally followed by transformers that keep the columns) give the feature names.

Only :func:`topic_table` needs pandas; :func:`top_terms` and :func:`show_topics`
return plain lists.

Coherence (:func:`topic_coherence`, :func:`coherence_scorer`) is computed from
document co-occurrence in a document-term matrix, only over the columns of the
top terms (a sparse product of a few hundred columns), so it is fast on large
corpora:

- ``'npmi'`` (Bouma 2009; Aletras & Stevenson 2013): for each pair of top terms
  ``(a, b)`` of a topic, ``log(P(a, b) / (P(a) P(b))) / -log(P(a, b))`` with
  ``P(a)`` the fraction of documents containing ``a`` and ``P(a, b)`` the fraction
  containing both; -1 for pairs that never co-occur, 0 for terms that never occur.
  In [-1, 1]; higher is more coherent.
- ``'umass'`` (Mimno et al. 2011): for each pair with ``a`` ranked above ``b``,
  ``log((D(a, b) + 1) / D(a))`` with ``D`` document counts. At most 0 (about);
  higher is more coherent.

A topic's coherence is the mean over its pairs of top terms; a model's is the mean
over its topics.

:func:`topic_from_words` turns seed words into a topic vector, to be held fixed in
a fit (``fit(X, H=..., fixed_components=[...])``: guided topics).
"""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp

__all__ = [
    "top_terms",
    "top_term_indices",
    "top_terms_with_weights",
    "show_topics",
    "topic_table",
    "topic_coherence",
    "coherence_scorer",
    "dominant_topic",
    "topic_from_words",
]

_POLES = ("auto", "positive", "negative", "both")


# -- unpacking models ----------------------------------------------------------------
def _split_model(model):
    """(estimator with components_, preprocessing pipeline or None)."""
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        final = model.steps[-1][1]
        pre = model[:-1] if len(model.steps) > 1 else None
        return final, pre
    return model, None


def _check_documents(X):
    """Raw documents for a Pipeline's text steps: strings (or bytes), not numbers."""
    if isinstance(X, (list, tuple)):
        wrong = next((d for d in X if not isinstance(d, (str, bytes))), None)
        if wrong is not None:
            raise TypeError(
                "X must be the documents (strings) or a document-term matrix; it holds "
                f"a {type(wrong).__name__} ({wrong!r:.40}).")


def _components(estimator):
    from sklearn.exceptions import NotFittedError

    components = getattr(estimator, "components_", None)
    if components is None:
        raise NotFittedError(
            f"{type(estimator).__name__} has no components_: fit it first (topic "
            "helpers need a fitted factorization with components_)."
        )
    return np.asarray(components)


def _feature_names(model, feature_names=None):
    estimator, pre = _split_model(model)
    if feature_names is not None:
        names = np.asarray(feature_names, dtype=object)
    elif pre is not None:
        try:
            names = pre.get_feature_names_out()
        except (AttributeError, TypeError, ValueError):
            names = pre.steps[0][1].get_feature_names_out()
        names = np.asarray(names, dtype=object)
    elif hasattr(estimator, "feature_names_in_"):
        names = np.asarray(estimator.feature_names_in_, dtype=object)
    else:
        raise ValueError(
            "feature_names are needed: pass them (for example "
            "vectorizer.get_feature_names_out()), or pass a fitted Pipeline whose "
            "first step is the vectorizer."
        )
    n_features = _components(estimator).shape[1]
    if len(names) != n_features:
        raise ValueError(
            f"{len(names)} feature names for {n_features} columns of components_."
        )
    return names


def _resolve_pole(components, pole):
    if pole not in _POLES:
        raise ValueError(f"pole must be one of {_POLES}, got {pole!r}.")
    if pole == "auto":
        return "both" if np.any(components < 0) else "positive"
    return pole


def _check_n_top(n_top):
    if (isinstance(n_top, (bool, np.bool_)) or not isinstance(n_top, numbers.Integral)
            or n_top < 1):
        raise ValueError(f"n_top must be a positive integer, got {n_top!r}.")
    return int(n_top)


def _ranked(components, n_top, pole, tie_key=None, signed_only=False):
    """Per topic, the columns of its ``n_top`` strongest weights at ``pole``.

    Strongest first; equal weights in the order of ``tie_key`` (an integer rank of
    each column, by default the column index), so the result never depends on
    how a sort happens to order ties. With ``signed_only``, only weights of the
    pole's sign (> 0 for 'positive', < 0 for 'negative') beyond rounding (more
    than sqrt(eps) times the component's largest absolute weight: a randomized
    SVD leaves weights of 1e-10 where the exact one has none, and
    multiplicative updates decay towards zero without reaching it): a list of
    arrays of at most ``n_top`` columns.
    """
    weights = components if pole == "positive" else -components
    n_features = weights.shape[1]
    n = min(n_top, n_features)
    if tie_key is None:
        tie_key = np.arange(n_features)
    result = []
    # rounding: a weight within sqrt(eps) of the component's largest is zero
    rounding = np.sqrt(np.finfo(weights.dtype).eps) if weights.dtype.kind == "f" else 0.0
    for row in weights:
        if n < n_features:  # every column tied with the n-th largest is a candidate
            threshold = np.partition(row, n_features - n)[n_features - n]
            candidates = np.flatnonzero(row >= threshold)
        else:
            candidates = np.arange(n_features)
        if signed_only:
            scale = np.max(np.abs(row)) if row.size else 0.0
            candidates = candidates[row[candidates] > rounding * scale]
        order = np.lexsort((tie_key[candidates], -row[candidates]))
        result.append(candidates[order[:n]])
    return result


def _name_rank(names):
    """The rank of each name in sorted order (ties between equal weights)."""
    rank = np.empty(len(names), dtype=np.intp)
    rank[np.argsort(np.asarray([str(name) for name in names]), kind="stable")] = np.arange(
        len(names))
    return rank


# -- top terms -----------------------------------------------------------------------
def top_term_indices(model, n_top=10, *, pole="positive"):
    """Column indices of the top terms of each component, strongest first.

    Parameters
    ----------
    model : fitted estimator with ``components_``, or a fitted Pipeline ending in one
    n_top : int, default=10
        Terms per topic.
    pole : {'positive', 'negative'}, default='positive'
        'positive': the largest weights; 'negative': the most negative weights
        (the other pole of an SVD component).

    Returns
    -------
    indices : ndarray of shape (n_components, min(n_top, n_features))
        Equal weights are ranked by column (for a vectorizer's vocabulary, which
        is sorted, that is by term). Every topic gets ``n_top`` columns, even
        where fewer weights have the pole's sign; :func:`top_terms` lists only
        those that have it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_nmfx.topics import top_term_indices
    >>> class Model:  # any fitted estimator with components_
    ...     components_ = np.array([[0.9, 0.1, 0.5], [-0.8, 0.7, 0.2]])
    >>> top_term_indices(Model(), n_top=2)
    array([[0, 2],
           [1, 2]])
    >>> top_term_indices(Model(), n_top=1, pole="negative")
    array([[1],
           [0]])
    """
    if pole not in ("positive", "negative"):
        raise ValueError(f"pole must be 'positive' or 'negative' here, got {pole!r}.")
    n_top = _check_n_top(n_top)
    components = _components(_split_model(model)[0])
    rows = _ranked(components, n_top, pole)
    return np.array(rows, dtype=np.intp).reshape(len(rows), -1)


def top_terms(model, feature_names=None, n_top=10, *, pole="auto"):
    """Top terms of each topic, as plain lists (no pandas needed).

    Parameters
    ----------
    model : fitted estimator with ``components_``, or a fitted Pipeline
        A Pipeline's earlier steps give the feature names.
    feature_names : array-like of str, default=None
        Names of the columns of ``components_``; taken from the Pipeline, or
        from ``feature_names_in_``, when not given.
    n_top : int, default=10
        Terms per topic (at most).
    pole : {'auto', 'positive', 'negative', 'both'}, default='auto'
        Which end of each component: 'positive' (largest weights), 'negative'
        (most negative weights), or 'both'. 'auto' is 'both' when some
        component has negative weights (SVD), 'positive' otherwise (NMF).

    Returns
    -------
    terms : list of list of str
        One list per topic; with ``pole='both'``, one pair
        ``(positive_terms, negative_terms)`` per topic. Only terms whose weight
        has the pole's sign are listed (a zero weight is no topic word, nor one
        within rounding of zero: below sqrt(machine epsilon), 1.5e-8 in float64,
        times the component's largest absolute weight), so a list may be
        shorter than ``n_top``, and the negative list of a component without
        negative weights is empty. Equal weights are listed in the
        order of their terms, so the lists never depend on a sort's handling of
        ties.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_nmfx.topics import top_terms
    >>> class Model:  # any fitted estimator with components_
    ...     components_ = np.array([[0.9, 0.1, 0.5], [0.0, 0.7, 0.2]])
    >>> top_terms(Model(), ["space", "god", "nasa"], n_top=2)
    [['space', 'nasa'], ['god', 'nasa']]
    """
    return _listings(model, feature_names, n_top, pole, weights=False)


def _listings(model, feature_names, n_top, pole, weights):
    topics, names = _weighted_top_terms(model, feature_names, n_top, pole)

    def listing(pairs):
        return [(str(names[j]), w) if weights else str(names[j]) for j, w in pairs]

    return [tuple(listing(p) for p in topic) if isinstance(topic, tuple) else listing(topic)
            for topic in topics]


def _weighted_top_terms(model, feature_names, n_top, pole):
    """(per topic a list of (column, weight), or a pair of them for both poles;
    the feature names): the shared core of the topic listings."""
    n_top = _check_n_top(n_top)
    names = _feature_names(model, feature_names)
    components = _components(_split_model(model)[0])
    pole = _resolve_pole(components, pole)
    rank = _name_rank(names)

    def listing(which):
        rows = _ranked(components, n_top, which, tie_key=rank, signed_only=True)
        return [[(int(j), float(components[k, j])) for j in row] for k, row in enumerate(rows)]

    if pole == "both":
        return list(zip(listing("positive"), listing("negative"))), names
    return listing(pole), names


def top_terms_with_weights(model, feature_names=None, n_top=10, *, pole="auto"):
    """Like :func:`top_terms`, with each term's weight: ``(term, weight)`` pairs.

    Parameters
    ----------
    model : fitted estimator with ``components_``, or a fitted Pipeline
        See :func:`top_terms`.
    feature_names : array-like of str, default=None
        See :func:`top_terms`.
    n_top : int, default=10
        Terms per topic (at most).
    pole : {'auto', 'positive', 'negative', 'both'}, default='auto'
        See :func:`top_terms`.

    Returns
    -------
    terms : list of list of (str, float)
        The lists of :func:`top_terms`, each term paired with its weight in
        ``components_`` (negative for the negative pole).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_nmfx.topics import top_terms_with_weights
    >>> class Model:  # any fitted estimator with components_
    ...     components_ = np.array([[0.9, 0.0, 0.5], [0.0, 0.7, 0.7]])
    >>> top_terms_with_weights(Model(), ["space", "god", "nasa"], n_top=2)
    [[('space', 0.9), ('nasa', 0.5)], [('god', 0.7), ('nasa', 0.7)]]
    """
    return _listings(model, feature_names, n_top, pole, weights=True)


def show_topics(model, feature_names=None, n_top=8, *, pole="auto"):
    """One line of top terms per topic, like the fast.ai lesson's ``show_topics``.

    With both poles, a line reads ``"positive terms | negative terms"``, or
    ``"positive terms"`` alone for a component without negative weights.

    Parameters
    ----------
    model : fitted estimator with ``components_``, or a fitted Pipeline
        See :func:`top_terms`.
    feature_names : array-like of str, default=None
        See :func:`top_terms`.
    n_top : int, default=8
        Terms per topic.
    pole : {'auto', 'positive', 'negative', 'both'}, default='auto'
        See :func:`top_terms`.

    Returns
    -------
    lines : list of str

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_nmfx.topics import show_topics
    >>> class Model:  # any fitted estimator with components_
    ...     components_ = np.array([[0.9, 0.1, 0.5], [-0.8, 0.7, 0.2]])
    >>> show_topics(Model(), ["space", "god", "nasa"], n_top=1)
    ['space', 'god | space']
    """
    terms = top_terms(model, feature_names, n_top, pole=pole)
    return [" ".join(t[0]) + (" | " + " ".join(t[1]) if t[1] else "")
            if isinstance(t, tuple) else " ".join(t) for t in terms]


def topic_table(model, feature_names=None, n_top=10, *, pole="auto"):
    """The top terms of every topic as a pandas DataFrame, one column per topic.

    Columns are ``"Topic # 01"``, ``"Topic # 02"``, ... and row ``i`` holds the
    ``i``-th strongest term, as in the fast.ai lesson's ``get_nmf_topics``. With both poles
    (SVD), each topic has two columns, ``"Topic # 01 +"`` and ``"Topic # 01 -"``.
    The terms are those of :func:`top_terms`; a topic with fewer terms (fewer
    non-zero weights, or no negative weight) has empty strings below them.

    Parameters
    ----------
    model : fitted estimator with ``components_``, or a fitted Pipeline
    feature_names : array-like of str, default=None
        See :func:`top_terms`.
    n_top : int, default=10
        Terms per topic (rows).
    pole : {'auto', 'positive', 'negative', 'both'}, default='auto'
        See :func:`top_terms`.

    Returns
    -------
    table : pandas.DataFrame of shape (n_top, n_components) (twice as many
        columns with both poles)

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_nmfx import MUNMF
    >>> from sklearn_nmfx.topics import topic_table
    >>> documents = ["rocket orbit launch", "orbit rocket moon", "bake bread oven",
    ...              "oven bread flour", "rocket launch moon", "flour bake bread"]
    >>> pipe = make_pipeline(TfidfVectorizer(), MUNMF(n_components=2, random_state=0))
    >>> table = topic_table(pipe.fit(documents), n_top=3)
    >>> table.shape, list(table.columns)
    ((3, 2), ['Topic # 01', 'Topic # 02'])
    >>> sorted(table.iloc[0])
    ['bread', 'rocket']
    """
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover
        raise ImportError(
            "topic_table needs pandas (pip install pandas); top_terms and "
            "show_topics return plain lists."
        ) from exc
    terms = top_terms(model, feature_names, n_top, pole=pole)
    columns = {}
    for k, topic in enumerate(terms, start=1):
        if isinstance(topic, tuple):
            columns[f"Topic # {k:02d} +"] = topic[0]
            columns[f"Topic # {k:02d} -"] = topic[1]
        else:
            columns[f"Topic # {k:02d}"] = topic
    n_rows = max([len(column) for column in columns.values()], default=0)
    return pd.DataFrame({name: column + [""] * (n_rows - len(column))
                         for name, column in columns.items()})


# -- coherence -----------------------------------------------------------------------
def _pair_coherence(indices, X, measure):
    """Coherence of each row of ``indices`` (term columns of X, ranked)."""
    n_docs = X.shape[0]
    used, inverse = np.unique(indices, return_inverse=True)
    inverse = inverse.reshape(indices.shape)
    if sp.issparse(X):
        occurs = sp.csc_matrix(X)[:, used]
        occurs = (occurs != 0).astype(np.float64)  # binary document occurrence
        co = np.asarray((occurs.T @ occurs).toarray())
    else:
        occurs = (np.asarray(X)[:, used] != 0).astype(np.float64)
        co = occurs.T @ occurs
    df = np.diag(co).copy()
    n_top = indices.shape[1]
    upper_i, upper_j = np.triu_indices(n_top, k=1)  # i ranked above j
    scores = np.empty(indices.shape[0])
    for t, row in enumerate(inverse):
        a, b = row[upper_i], row[upper_j]
        joint = co[a, b]
        if measure == "umass":
            with np.errstate(divide="ignore", invalid="ignore"):
                values = np.log((joint + 1.0) / df[a])
            values[df[a] == 0] = 0.0
        else:
            p_a, p_b, p_ab = df[a] / n_docs, df[b] / n_docs, joint / n_docs
            with np.errstate(divide="ignore", invalid="ignore"):
                values = np.log(p_ab / (p_a * p_b)) / -np.log(p_ab)
            values[p_ab == 0] = -1.0
            values[(p_ab == 1)] = 1.0
            values[(p_a == 0) | (p_b == 0)] = 0.0
        scores[t] = float(np.mean(values)) if values.size else 0.0
    return scores


def _check_reference(X):
    """The document-term matrix of a coherence: 2-D, numeric and finite."""
    values = X.data if sp.issparse(X) else X
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "X must be a numeric document-term matrix (or, with a Pipeline, the "
            f"documents): {exc}") from exc
    if not sp.issparse(X):
        X = values
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D document-term matrix, got shape {X.shape}.")
    finite = np.isfinite(values)
    if not finite.all():
        what = "NaN" if np.isnan(values).any() else "infinite values"
        raise ValueError(
            f"X holds {what} ({int(np.count_nonzero(~finite))} entries): coherence "
            "counts the documents that contain each term, so X must be finite.")
    negative = values < 0
    if negative.any():
        raise ValueError(
            f"X holds negative values ({int(np.count_nonzero(negative))} entries): "
            "coherence counts the documents that contain each term, so X must be a "
            "non-negative document-term matrix (counts or TF-IDF).")
    return X


def topic_coherence(model, X, *, n_top=10, measure="npmi", pole="positive",
                    per_topic=False):
    """Topic coherence of a fitted model, from document co-occurrence in X.

    Parameters
    ----------
    model : fitted estimator with ``components_``, or a fitted Pipeline
        Its topics' top terms are scored.
    X : {array-like, sparse matrix} of shape (n_documents, n_features), or documents
        The reference corpus: a document-term matrix with the columns of
        ``components_`` (only whether an entry is non-zero matters), or, with a
        Pipeline, raw documents that its earlier steps turn into one.
    n_top : int, default=10
        Top terms per topic.
    measure : {'npmi', 'umass'}, default='npmi'
        See the module documentation.
    pole : {'positive', 'negative'}, default='positive'
        Which end of each component gives its top terms.
    per_topic : bool, default=False
        Return one value per topic instead of their mean.

    Returns
    -------
    coherence : float, or ndarray of shape (n_components,) with ``per_topic``

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_nmfx.topics import topic_coherence
    >>> X = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]])
    >>> class Model:  # topic 1: terms 0 and 1 (always together); topic 2: 0 and 2
    ...     components_ = np.array([[0.9, 0.8, 0.0, 0.1], [0.9, 0.0, 0.8, 0.1]])
    >>> topic_coherence(Model(), X, n_top=2, per_topic=True)
    array([ 1., -1.])
    """
    if measure not in ("npmi", "umass"):
        raise ValueError(f"measure must be 'npmi' or 'umass', got {measure!r}.")
    estimator, pre = _split_model(model)
    components = _components(estimator)
    if pre is not None and not (sp.issparse(X) or (
            isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == components.shape[1])):
        _check_documents(X)
        X = pre.transform(X)
    X = _check_reference(X)
    if X.shape[1] != components.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} columns, but components_ has {components.shape[1]}."
        )
    indices = top_term_indices(estimator, n_top, pole=pole)
    scores = _pair_coherence(indices, X, measure)
    return scores if per_topic else float(np.mean(scores))


def coherence_scorer(measure="npmi", n_top=10, *, X_reference=None, pole="positive"):
    """A scorer for ``GridSearchCV(..., scoring=coherence_scorer())``.

    The scorer is called as ``scorer(estimator, X, y=None)``. With a Pipeline (a
    vectorizer first), X is the held-out documents and their document-term
    matrix, produced by the Pipeline's earlier steps, is the reference corpus;
    with a bare estimator, X is that matrix. Pass ``X_reference`` (a
    document-term matrix with the model's columns) to score every candidate on
    one fixed corpus instead.

    Parameters
    ----------
    measure : {'npmi', 'umass'}, default='npmi'
    n_top : int, default=10
    X_reference : {array-like, sparse matrix}, default=None
    pole : {'positive', 'negative'}, default='positive'

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``, higher is better.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_nmfx.topics import coherence_scorer
    >>> scorer = coherence_scorer("npmi", n_top=2)
    >>> # GridSearchCV(pipeline, {"nmf__n_components": [5, 10]}, scoring=scorer)
    >>> class Model:  # any fitted estimator with components_
    ...     components_ = np.array([[0.9, 0.8, 0.0], [0.0, 0.1, 0.9]])
    >>> X = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1], [0, 1, 1]])
    >>> round(scorer(Model(), X), 3)
    0.061
    """
    if measure not in ("npmi", "umass"):
        raise ValueError(f"measure must be 'npmi' or 'umass', got {measure!r}.")
    return _CoherenceScorer(measure, n_top, X_reference, pole)


class _CoherenceScorer:
    """Picklable scorer (GridSearchCV with n_jobs > 1 pickles it)."""

    def __init__(self, measure, n_top, X_reference, pole):
        self.measure = measure
        self.n_top = n_top
        self.X_reference = X_reference
        self.pole = pole

    def __call__(self, estimator, X, y=None):
        reference = X if self.X_reference is None else self.X_reference
        return topic_coherence(estimator, reference, n_top=self.n_top,
                               measure=self.measure, pole=self.pole)

    def __repr__(self):
        return f"coherence_scorer(measure={self.measure!r}, n_top={self.n_top})"


# -- documents -----------------------------------------------------------------------
def dominant_topic(model, X=None, *, W=None, normalize=True):
    """The dominant topic of each document and its weight.

    Parameters
    ----------
    model : fitted estimator or Pipeline
        Its ``transform`` gives the topic weights W (unless W is given).
    X : documents or document-term matrix, default=None
        What ``model.transform`` takes.
    W : ndarray of shape (n_documents, n_components), default=None
        Topic weights already computed (X is then not needed); finite, with one
        column per topic of ``model`` (when ``model`` has ``components_``).
    normalize : bool, default=True
        Report the weight as a share of the document's total absolute weight
        instead of the raw value: in [0, 1] for non-negative W (NMF); a signed W
        (``TruncatedSVDTopics``) gives a share in [-1, 0) for a document whose
        weights are all negative (its largest weight is then negative).

    Returns
    -------
    topic : ndarray of int of shape (n_documents,)
        Index of the largest weight (0-based); -1 for a document whose weights
        are all zero (no topic).
    weight : ndarray of float of shape (n_documents,)
        That weight (its share with ``normalize``); 0 where ``topic`` is -1.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_nmfx.topics import dominant_topic
    >>> W = np.array([[0.1, 0.3], [0.5, 0.0], [0.0, 0.0]])
    >>> topic, weight = dominant_topic(None, W=W)
    >>> topic
    array([ 1,  0, -1])
    >>> weight
    array([0.75, 1.  , 0.  ])
    """
    if W is None:
        if X is None:
            raise ValueError("Pass X (to transform) or W.")
        if _split_model(model)[1] is not None:
            _check_documents(X)
        W = model.transform(X)
    elif X is not None:
        raise ValueError("Pass X (to transform) or W, not both: W would be used and X "
                         "left unread.")
    W = np.asarray(W)
    if W.ndim != 2 or W.shape[1] == 0:
        raise ValueError(f"W must be 2-D with at least one column, got shape {W.shape}.")
    components = getattr(_split_model(model)[0], "components_", None) if model is not None \
        else None
    if components is not None and W.shape[1] != np.shape(components)[0]:
        raise ValueError(
            f"W has {W.shape[1]} columns, but the model has {np.shape(components)[0]} "
            "topics (components_ rows): W must be the model's topic weights.")
    if not np.issubdtype(W.dtype, np.number) or np.issubdtype(W.dtype, np.complexfloating):
        raise ValueError(f"W must hold real numbers, got dtype {W.dtype}.")
    if not np.all(np.isfinite(W)):
        raise ValueError(
            f"W holds NaN or infinite values ({int(np.count_nonzero(~np.isfinite(W)))} "
            "entries): no dominant topic can be read from them.")
    topic = np.argmax(W, axis=1)
    weight = W[np.arange(W.shape[0]), topic].astype(np.float64)
    if normalize:
        total = np.abs(W).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.where(total > 0, weight / total, 0.0)
    empty = ~np.any(W != 0, axis=1)
    topic = np.where(empty, -1, topic)
    weight = np.where(empty, 0.0, weight)
    return topic, weight


# -- seed words ----------------------------------------------------------------------
def _vocabulary_names(vectorizer):
    """The feature names of a fitted vectorizer, of a Pipeline whose first step is
    one, or a sequence of names."""
    from sklearn.pipeline import Pipeline

    if isinstance(vectorizer, Pipeline):
        vectorizer = vectorizer.steps[0][1]
    if hasattr(vectorizer, "get_feature_names_out"):
        try:
            return np.asarray(vectorizer.get_feature_names_out(), dtype=object)
        except (AttributeError, ValueError) as exc:  # NotFittedError is a ValueError
            raise ValueError(
                f"{type(vectorizer).__name__} is not fitted: fit the vectorizer on "
                "the documents first, so that it has a vocabulary."
            ) from exc
    if isinstance(vectorizer, str) or not hasattr(vectorizer, "__len__"):
        raise TypeError(
            "vectorizer must be a fitted vectorizer (with get_feature_names_out), a "
            "Pipeline whose first step is one, or a sequence of feature names; got "
            f"{type(vectorizer).__name__}."
        )
    return np.asarray(vectorizer, dtype=object)


def topic_from_words(words, vectorizer, X=None, *, weight=1.0, dtype=np.float64):
    """A topic vector (a row of H) from seed words, for ``fixed_components``.

    Without ``X`` the topic is the seed words alone: ``weight`` at their columns, 0
    elsewhere. Such a narrow topic explains the seed words only, and the words
    that come with them go to the learned topics. With ``X`` (the documents as the
    vectorizer encodes them), the topic is the seed words and their company: how
    much more the documents that contain a seed word use each term than the other
    documents do (the mean row of the first minus that of the others, clipped at
    0), times ``weight``.

    Parameters
    ----------
    words : sequence of str, or dict of {str: float}
        The seed words, as the vectorizer's vocabulary spells them (lowercase by
        default), or a mapping from words to their weights.
    vectorizer : fitted vectorizer, Pipeline or sequence of str
        A fitted vectorizer (``CountVectorizer``, ``TfidfVectorizer``, anything with
        ``get_feature_names_out``), a Pipeline whose first step is one, or the
        feature names themselves.
    X : {array-like, sparse matrix} of shape (n_documents, n_features), default=None
        Document-term matrix (``vectorizer.transform(documents)``); when given, the
        topic is ``max(mean(seeded rows) - mean(other rows), 0)`` times ``weight``,
        the seeded rows those with a seed word (of positive weight).
    weight : float, default=1.0
        The weight of each seed word given as a sequence (the other columns are
        0), or the scale of the mean row with ``X``.
    dtype : dtype, default=np.float64
        The dtype of the result: that of X (``fit`` checks that the fixed rows of H
        have X's dtype; vectorizers give float64).

    Returns
    -------
    topic : ndarray of shape (n_features,)
        ``weight`` at the columns of the seed words, 0 elsewhere; with ``X``, the
        contrast of the documents with a seed word to the others, times ``weight``.

    Warns
    -----
    UserWarning
        When some seed words are not in the vocabulary (they are left out).

    Raises
    ------
    ValueError
        When none of the seed words is in the vocabulary (or, with ``X``, in any
        document), or a weight is negative or not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn_nmfx import MUNMF
    >>> from sklearn_nmfx.topics import topic_from_words, top_terms
    >>> docs = ["the rocket launch to orbit", "nasa launch of the space shuttle",
    ...         "god and the bible", "faith in god", "the shuttle in orbit",
    ...         "the bible and faith"]
    >>> tfidf = TfidfVectorizer().fit(docs)
    >>> space = topic_from_words(["orbit", "launch", "shuttle"], tfidf)
    >>> model = MUNMF(n_components=2, random_state=0)
    >>> model = model.fit(tfidf.transform(docs), H=space[None, :], fixed_components=[0])
    >>> bool(np.array_equal(model.components_[0], space))
    True
    >>> top_terms(model, tfidf.get_feature_names_out(), n_top=3)[0]
    ['launch', 'orbit', 'shuttle']
    """
    names = _vocabulary_names(vectorizer)
    if isinstance(words, str):
        raise TypeError(f"words must be a sequence of words, not a string ({words!r}).")
    weights = dict(words) if isinstance(words, dict) else {word: weight for word in words}
    if not weights:
        raise ValueError("words is empty: give at least one seed word.")
    values = np.array(list(weights.values()), dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"seed word weights must be finite and >= 0; got {weights!r}.")
    column = {name: j for j, name in enumerate(names)}
    unknown = [word for word in weights if word not in column]
    if len(unknown) == len(weights):
        raise ValueError(
            f"none of the seed words {list(weights)} is in the vocabulary "
            f"({len(names)} terms)."
        )
    if unknown:
        warnings.warn(f"seed words not in the vocabulary, left out: {unknown}.", UserWarning,
                      stacklevel=2)
    topic = np.zeros(len(names), dtype=np.float64)
    for word, value in weights.items():
        if word in column:
            topic[column[word]] = value
    if X is not None:
        if np.shape(X)[1] != len(names):
            raise ValueError(f"X has {np.shape(X)[1]} columns but the vocabulary has "
                             f"{len(names)} terms.")
        X = X.tocsr() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
        seeded = np.asarray(X @ topic).ravel() > 0
        if not seeded.any():
            raise ValueError(f"no document of X contains a seed word of {list(weights)}.")

        def mean_row(rows):
            return np.asarray(X[np.flatnonzero(rows)].mean(axis=0), dtype=np.float64).ravel()

        topic = mean_row(seeded)
        if not seeded.all():
            topic = np.maximum(topic - mean_row(~seeded), 0.0)
        topic *= float(weight)
    return topic.astype(dtype, copy=False)
