"""Command line: ``sklearn-nmfx topics`` (or ``python -m sklearn_nmfx topics``).

By default the corpus is the four 20 Newsgroups categories of the fast.ai NMF lesson (headers,
footers and quotes removed), loaded with scikit-learn's ``fetch_20newsgroups``:
offline from ``$SCIKIT_LEARN_DATA`` when the data are there, downloaded once
otherwise. ``--input`` reads a folder of ``.txt`` files, a ``.csv``, a ``.jsonl``,
a ``.txt`` file (one document per line) or ``-`` (one document per line on
standard input) instead; see :mod:`sklearn_nmfx._corpus`.

The topics are printed as a table; ``--output`` writes them with their weights and
each document's dominant topic (CSV or JSON), ``--plot`` draws the top words of
each topic. ``--k-range`` chooses the number of topics by cross-validation.

Every error ends the program with one line on standard error,
``sklearn-nmfx: error: ...``, and exit status 1 (2 for a bad command line, 130
when interrupted); ``--traceback`` shows the Python traceback instead.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from . import MUNMF, SGDNMF, AutogradNMF, TruncatedSVDTopics, __version__
from ._corpus import CorpusError, Document, read_corpus

SEED_CATEGORIES = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]
MODELS = {"munmf": MUNMF, "sgd": SGDNMF, "autograd": AutogradNMF, "svd": TruncatedSVDTopics}
OUTPUT_FORMATS = (".csv", ".json")
PLOT_FORMATS = (".png", ".svg", ".pdf")
PROG = "sklearn-nmfx"


class CLIError(Exception):
    """An error reported as one line, without a traceback."""


class _UsageError(CLIError):
    """A bad command line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message + SystemExit
        raise _UsageError(f"{message} (see '{self.prog} --help')")


# -- the command line ---------------------------------------------------------------
def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def _document_frequency(text):
    """``--min-df``/``--max-df``: a count (integer) or a fraction in [0, 1]."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a document count nor a fraction") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"the fraction {value} is not in [0, 1]")
    return value


def parse_k_range(text):
    """``"2:30"`` (both ends included), ``"2:30:4"`` (a step) or ``"2,5,10"``.

    >>> parse_k_range("2:6:2"), parse_k_range("3,5")
    ([2, 4, 6], [3, 5])
    """
    try:
        if ":" in text:
            parts = [int(part) for part in text.split(":")]
            if len(parts) not in (2, 3):
                raise ValueError
            start, stop, step = (*parts, 1) if len(parts) == 2 else parts
            if step < 1 or stop < start:
                raise ValueError
            ks = list(range(start, stop + 1, step))
        else:
            ks = sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a range START:STOP[:STEP] or a list K1,K2,...") from None
    if not ks or ks[0] < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every k must be at least 1")
    return ks


def build_parser():
    parser = _Parser(
        prog=PROG, description="Topic modeling with non-negative matrix factorization.",
        epilog="Without a command, 'topics' is run.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    topics = sub.add_parser(
        "topics", help="print the topics of a corpus (default: 20 Newsgroups)",
        description="Fit a topic model to a corpus and print its topics.",
    )
    source = topics.add_argument_group("corpus")
    source.add_argument(
        "--input", metavar="PATH",
        help="a folder of .txt files (one document each), a .csv (see --text-column), "
             "a .jsonl (see --text-field), a .txt file or - for standard input (one "
             "document per line); default: 20 Newsgroups")
    source.add_argument("--text-column", default="text",
                        help="the CSV column holding the text (default: text)")
    source.add_argument("--text-field", default="text",
                        help="the JSON field holding the text (default: text)")
    source.add_argument("--categories", nargs="+", default=SEED_CATEGORIES,
                        metavar="CATEGORY",
                        help="20 Newsgroups categories (default: the fast.ai lesson's four)")
    source.add_argument("--subset", default="train", choices=["train", "test", "all"],
                        help="20 Newsgroups subset (default: train)")
    source.add_argument("--max-documents", type=_positive_int, default=1_000_000,
                        metavar="N", help="refuse corpora with more non-empty "
                        "documents (default: %(default)s)")
    source.add_argument("--max-chars", type=_positive_int, default=200_000_000,
                        metavar="N", help="refuse inputs longer than this many "
                        "characters (default: %(default)s)")

    vectorizer = topics.add_argument_group("vocabulary (TF-IDF)")
    vectorizer.add_argument("--max-features", type=_positive_int, default=None,
                            help="keep the most frequent terms only")
    vectorizer.add_argument("--min-df", type=_document_frequency, default=1,
                            help="ignore terms in fewer documents (a count or a fraction)")
    vectorizer.add_argument("--max-df", type=_document_frequency, default=1.0,
                            help="ignore terms in more documents (a count or a fraction)")
    vectorizer.add_argument("--stop-words", default="english", choices=["english", "none"],
                            help="drop English stop words (default) or none")

    model = topics.add_argument_group("model")
    model.add_argument("--model", default="munmf", choices=sorted(MODELS),
                       help="munmf (default), sgd, autograd or svd")
    model.add_argument("-k", "--n-components", type=_positive_int, default=5,
                       help="number of topics (default: 5)")
    model.add_argument("--k-range", type=parse_k_range, default=None, metavar="RANGE",
                       help="choose k among START:STOP[:STEP] or K1,K2,... by "
                            "3-fold cross-validation (overrides -k)")
    model.add_argument("--k-by", default="score", choices=["score", "coherence"],
                       help="with --k-range: the estimator's held-out score (default) "
                            "or NPMI coherence of the --top words")
    model.add_argument("--device", default=None,
                       help="cpu (default), torch, cuda, cuda:N or mps")
    model.add_argument("--random-state", type=int, default=1)

    output = topics.add_argument_group("output")
    output.add_argument("--top", type=_positive_int, default=8,
                        help="words shown per topic (default: 8)")
    output.add_argument("--output", metavar="FILE",
                        help="write topics, term weights and each document's dominant "
                             "topic: FILE.json, or FILE.csv (topics) and "
                             "FILE.documents.csv (documents)")
    output.add_argument("--plot", metavar="FILE",
                        help="bar charts of the top words of each topic (.png, .svg, .pdf)")
    output.add_argument("-q", "--quiet", action="store_true",
                        help="no progress lines or warnings on standard error")
    output.add_argument("--traceback", action="store_true",
                        help="show Python tracebacks of errors (for bug reports)")
    return parser


# -- progress -----------------------------------------------------------------------
class _Progress:
    """Stage lines on standard error, when it is a terminal and not --quiet."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.start = time.perf_counter()

    def __call__(self, message):
        if self.enabled:
            elapsed = time.perf_counter() - self.start
            print(f"[{elapsed:6.1f} s] {message}", file=sys.stderr, flush=True)


def _report_warnings(caught, quiet):
    if quiet:
        return
    seen = set()
    for warning in caught:
        line = str(warning.message).strip().splitlines()[0] if str(warning.message) else ""
        key = (warning.category.__name__, line)
        if key not in seen:
            seen.add(key)
            print(f"{PROG}: warning: {key[0]}: {line}", file=sys.stderr)


# -- the corpus ---------------------------------------------------------------------
def _load_20newsgroups(categories, subset):
    from sklearn.datasets import fetch_20newsgroups

    try:
        bunch = fetch_20newsgroups(
            subset=subset, categories=categories, remove=("headers", "footers", "quotes")
        )
    except ValueError as exc:  # an unknown category: name the known ones
        known = fetch_20newsgroups(subset=subset).target_names
        unknown = [c for c in categories if c not in known]
        raise CLIError(f"unknown 20 Newsgroups categories {unknown} (known: "
                       f"{', '.join(known)})") from exc
    except OSError as exc:
        raise CLIError(
            f"cannot load 20 Newsgroups ({exc}); set SCIKIT_LEARN_DATA to a folder "
            "holding 20news-bydate_py3.pkz, or use --input") from exc
    # Empty posts are kept (they get no dominant topic), as in the fast.ai lesson's notebook,
    # so that the topics are those of the README's Python example.
    names = bunch.target_names
    documents = [Document(text, f"{names[target]}/{i}")
                 for i, (text, target) in enumerate(zip(bunch.data, bunch.target))]
    if not any(d.text.strip() for d in documents):
        raise CLIError(f"no 20 Newsgroups documents in categories {categories}")
    return documents


def load_documents(args):
    if args.input is None:
        return _load_20newsgroups(args.categories, args.subset)
    return read_corpus(args.input, text_column=args.text_column,
                       text_field=args.text_field, max_chars=args.max_chars,
                       max_documents=args.max_documents)


# -- the model ----------------------------------------------------------------------
def make_pipeline(args, n_components):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline

    stop_words = None if args.stop_words == "none" else args.stop_words
    estimator = MODELS[args.model](
        n_components=n_components, random_state=args.random_state, device=args.device)
    return Pipeline([
        ("tfidf", TfidfVectorizer(stop_words=stop_words, max_features=args.max_features,
                                  min_df=args.min_df, max_df=args.max_df)),
        ("model", estimator),
    ])


def vectorize(args, texts):
    """(fitted TfidfVectorizer, X): a clear message for an empty vocabulary."""
    vectorizer = make_pipeline(args, 1)["tfidf"]
    try:
        return vectorizer, vectorizer.fit_transform(texts)
    except ValueError as exc:
        if "empty vocabulary" in str(exc):
            raise CLIError(
                f"the vocabulary is empty: the {len(texts)} documents hold no term "
                "left after stop words, --min-df, --max-df (try --stop-words none)"
            ) from exc
        raise CLIError(f"cannot build the vocabulary: {exc}") from exc


def choose_k(args, texts, progress):
    """Cross-validate each k of --k-range: (best k, dict of the curve).

    The curve holds, per k, the mean score over the folds and its spread: the
    standard deviation over the folds of each fold's score minus that fold's mean
    over all k. A fold's score depends mostly on which documents it holds, the
    same for every k, so this paired spread (not the raw one) says whether two k
    differ; the raw scores are kept under "folds".
    """
    from sklearn.model_selection import KFold, cross_val_score

    from .topics import coherence_scorer

    if len(texts) < 3:
        raise CLIError(f"--k-range needs at least 3 documents, got {len(texts)}")
    scoring = coherence_scorer("npmi", n_top=args.top) if args.k_by == "coherence" else None
    cv = KFold(3, shuffle=True, random_state=args.random_state)
    folds = []
    for k in args.k_range:
        folds.append(cross_val_score(make_pipeline(args, k), texts, scoring=scoring,
                                     cv=cv, error_score="raise"))
        progress(f"k={k}: {args.k_by} {np.mean(folds[-1]):.6g}")
    folds = np.array(folds)  # (n_k, 3)
    mean = folds.mean(axis=1)
    spread = (folds - folds.mean(axis=0)).std(axis=1)
    curve = {"by": args.k_by, "k": list(args.k_range), "mean": mean.tolist(),
             "paired_std": spread.tolist(), "folds": folds.tolist()}
    return args.k_range[int(np.argmax(mean))], curve


# -- outputs ------------------------------------------------------------------------
def _topic_terms(model, vocabulary, n_top):
    """Per topic: list of (term, weight) of each pole ('+' always, '-' if signed)."""
    from .topics import top_term_indices

    components = model.components_
    poles = ["+", "-"] if np.any(components < 0) else ["+"]
    result = [{} for _ in range(components.shape[0])]
    for pole in poles:
        indices = top_term_indices(model, n_top, pole="positive" if pole == "+" else "negative")
        for k, row in enumerate(indices):
            result[k][pole] = [(str(vocabulary[j]), float(components[k, j])) for j in row]
    return result


def print_topics(summary, topics):
    print(summary)
    for index, poles in enumerate(topics, start=1):
        line = " ".join(term for term, _ in poles["+"])
        if "-" in poles:
            line += " | " + " ".join(term for term, _ in poles["-"])
        print(f"Topic # {index:02d}: {line}")


def _write_json(path, result):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
        f.write("\n")


def _write_csv(path, result):
    import csv

    documents_path = path.with_name(path.stem + ".documents.csv")
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["topic", "pole", "rank", "term", "weight"])
        for topic in result["topics"]:
            for pole, key in (("+", "terms"), ("-", "negative_terms")):
                for rank, term in enumerate(topic.get(key, []), start=1):
                    writer.writerow([topic["topic"], pole, rank, term["term"],
                                     repr(term["weight"])])
    with open(documents_path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["document", "source", "dominant_topic", "weight"])
        for document in result["documents"]:
            topic = document["dominant_topic"]
            writer.writerow([document["document"], document["source"],
                             "" if topic is None else topic, repr(document["weight"])])
    return [path, documents_path]


def write_output(path, result):
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            _write_json(path, result)
            return [path]
        return _write_csv(path, result)
    except OSError as exc:
        raise CLIError(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from exc


def write_plot(path, topics, title):
    from matplotlib.figure import Figure

    n_topics = len(topics)
    n_cols = min(n_topics, 5)
    n_rows = -(-n_topics // n_cols)
    fig = Figure(figsize=(3.2 * n_cols, 0.35 * len(topics[0]["+"]) * n_rows + 1.2 * n_rows),
                 layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for index, (ax, poles) in enumerate(zip(axes, topics), start=1):
        terms, weights = zip(*poles["+"])
        ax.barh(terms[::-1], weights[::-1], color=f"C{(index - 1) % 10}")
        ax.set_title(f"Topic # {index:02d}", fontsize=10)
        ax.tick_params(labelsize=8)
    for ax in axes[n_topics:]:
        ax.set_visible(False)
    fig.suptitle(title)
    try:
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _check_outputs(args):
    """Fail before the work, not after it, on outputs that cannot be written."""
    for option, path, formats in (("--output", args.output, OUTPUT_FORMATS),
                                  ("--plot", args.plot, PLOT_FORMATS)):
        if path is None:
            continue
        suffix = Path(path).suffix.lower()
        if suffix not in formats:
            raise _UsageError(f"{option} {path}: the file name must end in "
                              f"{' or '.join(formats)}")
        parent = Path(path).parent
        if not parent.is_dir():
            raise CLIError(f"{option} {path}: the folder {parent} does not exist")
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError as exc:
            raise CLIError("--plot needs matplotlib (pip install matplotlib)") from exc


# -- the command --------------------------------------------------------------------
def run_topics(args):
    from ._backend import resolve_backend
    from .topics import dominant_topic

    _check_outputs(args)
    resolve_backend(args.device)  # an unknown device or no CUDA: before any work
    progress = _Progress(sys.stderr.isatty() and not args.quiet)
    source = args.input or f"20 Newsgroups ({args.subset}: {', '.join(args.categories)})"
    progress(f"reading {source}")
    documents = load_documents(args)
    texts = [document.text for document in documents]
    progress(f"{len(texts)} documents; building the vocabulary")
    vectorizer, X = vectorize(args, texts)
    vocabulary = vectorizer.get_feature_names_out()
    n_terms = len(vocabulary)
    ks = args.k_range or [args.n_components]
    if ks[-1] > n_terms:
        raise CLIError(f"k={ks[-1]} topics is more than the {n_terms} terms of the "
                       "vocabulary: ask for fewer topics")
    curve = None
    if args.k_range is not None:
        progress(f"choosing k among {ks} by {args.k_by} (3-fold cross-validation)")
        k, curve = choose_k(args, texts, progress)
    else:
        k = args.n_components
    progress(f"fitting {MODELS[args.model].__name__} with {k} topics")
    model = make_pipeline(args, k)["model"]
    W = model.fit_transform(X)
    topics = _topic_terms(model, vocabulary, args.top)
    topic, weight = dominant_topic(model, W=W)

    details = [f"{len(texts)} documents", f"{len(vocabulary)} terms",
               f"{MODELS[args.model].__name__} with {k} topics"]
    if hasattr(model, "n_iter_"):
        details.append(f"{model.n_iter_} iterations")
    if hasattr(model, "reconstruction_err_"):
        details.append(f"reconstruction error {model.reconstruction_err_:.4f}")
    if curve is not None:
        print(f"k by {args.k_by} (3-fold cross-validation: mean, +- paired spread "
              "over the folds):")
        for k_i, mean, std in zip(curve["k"], curve["mean"], curve["paired_std"]):
            print(f"  k={k_i:<3d} {mean:12.6g}  +- {std:.3g}" + ("  <- best" if k_i == k else ""))
    print_topics(", ".join(details), topics)

    if args.output is not None:
        result = {
            "model": MODELS[args.model].__name__, "n_components": int(k),
            "n_documents": len(texts), "n_terms": int(len(vocabulary)),
            "topics": [
                {"topic": i, **{key: [{"term": t, "weight": w} for t, w in poles[pole]]
                                for pole, key in (("+", "terms"), ("-", "negative_terms"))
                                if pole in poles}}
                for i, poles in enumerate(topics, start=1)],
            "documents": [
                {"document": i, "source": d.source,
                 "dominant_topic": None if t < 0 else int(t) + 1, "weight": float(w)}
                for i, (d, t, w) in enumerate(zip(documents, topic, weight))],
        }
        if curve is not None:
            result["k_curve"] = curve
        for path in write_output(args.output, result):
            progress(f"wrote {path}")
    if args.plot is not None:
        write_plot(args.plot, topics, f"{MODELS[args.model].__name__}: top words of {k} topics")
        progress(f"wrote {args.plot}")
    progress("done")
    return 0


def _fail(message, code):
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return code


def main(argv=None):
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("topics", "-h", "--help", "--version"):
        argv = ["topics", *argv]
    show_traceback = "--traceback" in argv
    try:
        args = build_parser().parse_args(argv)
        # Warnings (convergence, download retries) become one line each after a
        # successful run, and are dropped when the run fails: its error is the line.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code = run_topics(args)
        _report_warnings(caught, args.quiet)
        return code
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except _UsageError as exc:
        return _fail(exc, 2)
    except (CLIError, CorpusError) as exc:
        if show_traceback:
            raise
        return _fail(exc, 1)
    except MemoryError:
        if show_traceback:
            raise
        return _fail("out of memory (try --max-features, or a smaller corpus)", 1)
    except (ValueError, TypeError, ImportError, RuntimeError, OSError) as exc:
        if show_traceback:
            raise
        return _fail(exc, 1)
    except Exception as exc:  # a bug: still one line, with the way to the traceback
        if show_traceback:
            raise
        return _fail(f"unexpected {type(exc).__name__}: {exc} (run again with "
                     "--traceback and report it)", 1)
