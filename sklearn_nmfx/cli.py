"""Command line: ``sklearn-nmfx topics`` and ``sklearn-nmfx transform``.

``topics`` (the default command) fits a topic model to a corpus and prints its
topics. By default the corpus is the fast.ai NMF lesson's four-newsgroup corpus
(alt.atheism, talk.religion.misc, comp.graphics and sci.space from 20 Newsgroups,
headers, footers and quotes removed), loaded with scikit-learn's
``fetch_20newsgroups``: offline from ``$SCIKIT_LEARN_DATA`` when the data are
there, downloaded once otherwise. ``--input`` reads a folder of ``.txt`` files, a
``.csv``, a ``.jsonl``, a text file (one document per line; ``.txt`` or no
suffix), any of them compressed (``.gz``, ``.bz2``, ``.xz``), or ``-`` for
standard input instead; piped standard input is read without ``--input``. See
:mod:`sklearn_nmfx._corpus`.

The topics are printed as a table; ``--output`` writes them with their weights and
each document's dominant topic and topic mix (CSV or JSON), ``--plot`` draws the
top words of each topic, ``--save`` keeps the fitted model, which ``transform``
applies to new documents. ``--k-range`` chooses the number of topics by
cross-validation. Topics and documents are numbered from 1.

Every error ends the program with one line on standard error,
``sklearn-nmfx: error: ...``, and exit status 1 (2 for a bad command line, 130
when interrupted); ``--traceback`` shows the Python traceback instead. No output
file is left behind by a run that fails: each is written to a temporary file
beside it and renamed when the whole run has succeeded.
"""

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from . import MUNMF, SGDNMF, AutogradNMF, TruncatedSVDTopics, __version__
from ._corpus import INPUT_FORMATS, CorpusError, Document, read_corpus, stdin_is_piped

FASTAI_CATEGORIES = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]
MODELS = {"munmf": MUNMF, "sgd": SGDNMF, "autograd": AutogradNMF, "svd": TruncatedSVDTopics}
OUTPUT_FORMATS = (".csv", ".json")
PLOT_FORMATS = (".png", ".svg", ".pdf")
PROG = "sklearn-nmfx"
COMMANDS = ("topics", "transform")
MODEL_FILE_KIND = "sklearn-nmfx topic model"
NUMBERING = ("Topics and documents are numbered from 1, in the printed table and in "
             "every output file; a document's source is FILE:LINE (lines from 1), a "
             "CSV's FILE:ROW (the header is row 1) or a folder's file name.")


class CLIError(Exception):
    """An error reported as one line, without a traceback."""


class _UsageError(CLIError):
    """A bad command line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message + SystemExit
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# -- the command line ---------------------------------------------------------------
def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _document_frequency(text):
    """``--min-df``/``--max-df``: a count of documents (an integer >= 1) or a
    fraction of the documents (a number with a point, in [0, 1])."""
    try:
        value = int(text)
    except ValueError:
        pass
    else:
        if value < 1:
            raise argparse.ArgumentTypeError(
                f"{value} is not a document count (an integer >= 1) nor a fraction "
                "(a number with a point in [0.0, 1.0], such as 0.5)")
        return value
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a document count nor a fraction") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(
            f"the fraction {text} is not in [0.0, 1.0] (a document count is an integer)")
    return value


def parse_k_range(text):
    """``"2:30"`` (both ends included), ``"2:30:4"`` (a step) or ``"2,5,10"``.

    A range is returned as a ``range`` (nothing is built for a huge one: it is
    checked against the corpus before any work), a list as a sorted list.

    >>> list(parse_k_range("2:6:2")), parse_k_range("3,5")
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
            ks = range(start, stop + 1, step)
        else:
            ks = sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a range START:STOP[:STEP] (STOP included) or a list "
            "K1,K2,...") from None
    if not ks or ks[0] < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every k must be at least 1")
    return ks


def _add_corpus_options(parser, default_help):
    source = parser.add_argument_group("corpus")
    source.add_argument(
        "--input", metavar="PATH",
        help="a folder of .txt files (one document each), a .csv (see --text-column), "
             "a .jsonl (see --text-field), a text file (.txt or no suffix: one document "
             "per line), any of them as .gz, .bz2 or .xz, or - for standard input "
             f"(one document per line); default: {default_help}")
    source.add_argument("--format", default="auto", choices=INPUT_FORMATS,
                        help="how to read --input (or standard input): csv, jsonl, "
                             "lines (one document per line); default: auto, by the "
                             "file name's suffix (lines for standard input)")
    source.add_argument("--text-column", default="text",
                        help="the CSV column holding the text (default: text)")
    source.add_argument("--text-field", default="text",
                        help="the JSON field holding the text (default: text)")
    return source


def _add_limits(source):
    source.add_argument("--max-documents", type=_positive_int, default=1_000_000,
                        metavar="N", help="refuse corpora with more non-empty "
                        "documents (default: %(default)s)")
    source.add_argument("--max-chars", type=_positive_int, default=200_000_000,
                        metavar="N", help="refuse inputs longer than this many "
                        "characters (default: %(default)s)")


def _add_common_output(output):
    output.add_argument("-q", "--quiet", action="store_true",
                        help="no progress lines or warnings on standard error")
    output.add_argument("--traceback", action="store_true",
                        help="show Python tracebacks of errors (for bug reports)")


def build_parser():
    parser = _Parser(
        prog=PROG, description="Topic modeling with non-negative matrix factorization.",
        epilog="Without a command, 'topics' is run. " + NUMBERING,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    topics = sub.add_parser(
        "topics", help="fit a topic model and print its topics (default: the fast.ai "
                       "lesson's four-newsgroup corpus)",
        description="Fit a topic model to a corpus and print its topics.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=NUMBERING + "\n\nSave a model and apply it to new documents:\n"
               f"  {PROG} topics --input corpus.txt -k 8 --save model.joblib\n"
               f"  {PROG} transform --model model.joblib --input new.txt "
               "--output mix.csv",
    )
    source = _add_corpus_options(
        topics, "piped standard input, else the fast.ai lesson's four-newsgroup "
                "corpus (20 Newsgroups)")
    source.add_argument("--categories", nargs="+", default=FASTAI_CATEGORIES,
                        metavar="CATEGORY",
                        help="20 Newsgroups categories, without --input (default: the "
                             "fast.ai lesson's four: %(default)s)")
    source.add_argument("--subset", default="train", choices=["train", "test", "all"],
                        help="20 Newsgroups subset (default: train)")
    _add_limits(source)

    vectorizer = topics.add_argument_group("vocabulary (TF-IDF)")
    vectorizer.add_argument("--max-features", type=_positive_int, default=None,
                            help="keep the most frequent terms only")
    vectorizer.add_argument("--min-df", type=_document_frequency, default=1,
                            help="ignore terms in fewer documents: a count (an integer "
                                 ">= 1) or a fraction (0.0 to 1.0); default: 1")
    vectorizer.add_argument("--max-df", type=_document_frequency, default=1.0,
                            help="ignore terms in more documents: a count (an integer "
                                 ">= 1) or a fraction (0.0 to 1.0); default: 1.0")
    vectorizer.add_argument("--stop-words", default="english", choices=["english", "none"],
                            help="drop English stop words (default) or none")

    model = topics.add_argument_group("model")
    model.add_argument("--model", default="munmf", choices=sorted(MODELS),
                       help="munmf (default), sgd, autograd or svd")
    model.add_argument("-k", "--n-components", type=_positive_int, default=5,
                       help="number of topics (default: 5)")
    model.add_argument("--k-range", type=parse_k_range, default=None, metavar="RANGE",
                       help="choose k among START:STOP[:STEP] (STOP included) or "
                            "K1,K2,... by 3-fold cross-validation: the smallest k whose "
                            "mean score is within one standard error of the best "
                            "(overrides -k)")
    model.add_argument("--k-by", default="score", choices=["score", "coherence"],
                       help="with --k-range: score (the default) = topic stability, "
                            "do a model's topics come back in a model of the held-out "
                            "documents (it peaks at the number of topics the data "
                            "support); coherence = NPMI of the --top words (what "
                            "reads best; it often keeps rising with k)")
    model.add_argument("--max-iter", type=_positive_int, default=None, metavar="N",
                       help="most iterations of each fit (default: the estimator's: "
                            "200 munmf and sgd, 2000 autograd; svd: its power "
                            "iterations, 6)")
    model.add_argument("--tol", type=_positive_float, default=None,
                       help="stopping tolerance of each fit (default: the "
                            "estimator's, 1e-4; svd: ARPACK's)")
    model.add_argument("--device", default=None,
                       help="cpu (default), torch, cuda, cuda:N or mps")
    model.add_argument("--random-state", type=int, default=1)

    output = topics.add_argument_group("output")
    output.add_argument("--top", type=_positive_int, default=8,
                        help="words shown per topic, at most (default: 8)")
    output.add_argument("--output", metavar="FILE",
                        help="write topics, term weights and each document's dominant "
                             "topic and topic mix: FILE.json, or FILE.csv (topics) and "
                             "FILE.documents.csv (documents)")
    output.add_argument("--plot", metavar="FILE",
                        help="bar charts of the top words of each topic (.png, .svg, .pdf)")
    output.add_argument("--save", metavar="FILE",
                        help="save the fitted model (vocabulary and topics) to FILE "
                             "(joblib), for 'sklearn-nmfx transform'")
    _add_common_output(output)

    transform = sub.add_parser(
        "transform", help="apply a saved model to new documents: their topic mixes",
        description="Apply a model saved by 'topics --save' to documents and write "
                    "each document's topic mix (its weight on every topic), dominant "
                    "topic and that topic's share. " + NUMBERING,
        epilog=f"Example: {PROG} transform --model model.joblib --input new.txt "
               "--output mix.csv. Load only model files you trust: a joblib file "
               "can run code when it is loaded.",
    )
    transform.add_argument("--model", required=True, metavar="FILE",
                           help="a model saved by 'sklearn-nmfx topics --save FILE'")
    _add_limits(_add_corpus_options(transform, "piped standard input"))
    output = transform.add_argument_group("output")
    output.add_argument("--output", metavar="FILE",
                        help="FILE.csv or FILE.json (default: CSV on standard output)")
    _add_common_output(output)
    return parser


# -- progress -----------------------------------------------------------------------
class _Progress:
    """Progress on standard error (not with --quiet).

    On a terminal: one line rewritten in place (a bar while --k-range runs, the
    elapsed time while a fit runs). Elsewhere (a pipe, a log): plain lines
    stamped with the time of day and the elapsed time, one per stage, and one
    every 30 s while a long fit runs. The files written are always reported on a
    line of their own.
    """

    HEARTBEAT_S = 30.0

    def __init__(self, enabled, terminal):
        self.enabled = enabled
        self.terminal = terminal
        self.start = time.perf_counter()
        self.in_place = False
        self.lock = threading.Lock()

    def _stamp(self):
        elapsed = time.perf_counter() - self.start
        if self.terminal:
            return f"[{elapsed:6.1f} s]"
        return f"{time.strftime('%H:%M:%S')} [{elapsed:7.1f} s]"

    def _write(self, message, permanent):
        if not self.enabled:
            return
        with self.lock:
            text = f"{self._stamp()} {message}"
            try:
                if self.terminal:
                    sys.stderr.write(f"\r\x1b[K{text}" + ("\n" if permanent else ""))
                    self.in_place = not permanent
                else:
                    sys.stderr.write(f"{PROG}: {text}\n")
                sys.stderr.flush()
            except (OSError, ValueError):  # a closed stderr: progress is not worth an error
                self.enabled = False

    def __call__(self, message):
        """A stage: in place on a terminal, a line elsewhere."""
        self._write(message, permanent=False)

    def note(self, message):
        """A line that stays (a file written)."""
        self._write(message, permanent=True)

    def bar(self, done, total, message):
        if self.terminal:
            width = 20
            filled = int(round(width * done / max(total, 1)))
            self(f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {message}")
        else:
            self(f"{done}/{total} {message}")

    def working(self, message):
        """A context: ``message`` with the elapsed time kept current while it runs."""
        return _Heartbeat(self, message)

    def close(self):
        """End the in-place line, so that what follows starts a line of its own."""
        with self.lock:
            if self.enabled and self.terminal and self.in_place:
                try:
                    sys.stderr.write("\n")
                    sys.stderr.flush()
                except (OSError, ValueError):
                    pass
            self.in_place = False


class _Heartbeat:
    def __init__(self, progress, message):
        self.progress = progress
        self.message = message
        self.stop = threading.Event()
        self.thread = None

    def __enter__(self):
        self.progress(self.message)
        if self.progress.enabled:
            self.thread = threading.Thread(target=self._beat, daemon=True)
            self.thread.start()
        return self

    def _beat(self):
        started = time.perf_counter()
        interval = 0.5 if self.progress.terminal else self.progress.HEARTBEAT_S
        while not self.stop.wait(interval):
            self.progress(f"{self.message} ({time.perf_counter() - started:.0f} s)"
                          if self.progress.terminal else f"{self.message}: still running")

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


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


# -- outputs, all or none -----------------------------------------------------------
class _Outputs:
    """Output files written to temporary files beside them, renamed at the end.

    ``commit`` renames them all once the run has succeeded; ``discard`` (always
    called) removes whatever temporary file is left, so a run that fails or is
    interrupted leaves no partial output behind, and an older file of the same
    name is kept as it was.
    """

    def __init__(self):
        self.staged = []  # (temporary path, final path)

    def stage(self, path, write):
        """Write ``path`` through ``write(temporary_path)``."""
        path = Path(path)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial",
                                         dir=path.parent)
        os.close(fd)
        self.staged.append((Path(temporary), path))
        try:
            write(Path(temporary))
        except OSError as exc:
            raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def commit(self, progress):
        # all or none: a destination that cannot take its file is found before any
        # file is renamed
        for _, path in self.staged:
            if path.is_dir():
                raise CLIError(f"cannot write {path}: it is a folder")
        for temporary, path in self.staged:
            try:
                os.replace(temporary, path)
            except OSError as exc:
                raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from exc
            progress.note(f"wrote {path}")
        self.staged = []

    def discard(self):
        for temporary, _ in self.staged:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        self.staged = []


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


def _input_path(args, required):
    """--input, or ``-`` when standard input is piped; None for 20 Newsgroups."""
    if args.input is not None:
        return args.input
    if stdin_is_piped():
        return "-"
    if required:
        raise _UsageError("no documents: give --input PATH, or pipe them to standard "
                          f"input (see '{PROG} transform --help')")
    return None


def load_documents(args, path):
    if path is None:
        return _load_20newsgroups(args.categories, args.subset)
    return read_corpus(path, text_column=args.text_column, text_field=args.text_field,
                       format=args.format, max_chars=args.max_chars,
                       max_documents=args.max_documents)


# -- the model ----------------------------------------------------------------------
def _estimator_options(args):
    options = {}
    if args.max_iter is not None:
        options["n_iter" if args.model == "svd" else "max_iter"] = args.max_iter
    if args.tol is not None:
        options["tol"] = args.tol
    return options


def make_pipeline(args, n_components):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline

    stop_words = None if args.stop_words == "none" else args.stop_words
    estimator = MODELS[args.model](
        n_components=n_components, random_state=args.random_state, device=args.device,
        **_estimator_options(args))
    return Pipeline([
        ("tfidf", TfidfVectorizer(stop_words=stop_words, max_features=args.max_features,
                                  min_df=args.min_df, max_df=args.max_df)),
        ("model", estimator),
    ])


def vectorize(args, texts):
    """(fitted TfidfVectorizer, X): a clear message for an empty vocabulary."""
    vectorizer = make_pipeline(args, 1)["tfidf"]
    try:
        vectorizer.fit(texts)
        # transform, not fit_transform: the matrix is then the one that
        # 'transform' computes from the saved model, entry for entry and in
        # the same order, so applying the model to the same texts gives the
        # same topic mixes, bit for bit
        return vectorizer, vectorizer.transform(texts)
    except ValueError as exc:
        if "empty vocabulary" in str(exc):
            raise CLIError(
                f"the vocabulary is empty: the {_plural(len(texts), 'document')} hold no "
                "term left after stop words, --min-df, --max-df (try --stop-words none)"
            ) from exc
        if "max_df corresponds to < documents than min_df" in str(exc):
            raise CLIError(
                f"--min-df {args.min_df} and --max-df {args.max_df} leave no term: on "
                f"{_plural(len(texts), 'document')}, --max-df must allow at least as many "
                "documents as --min-df") from exc
        raise CLIError(f"cannot build the vocabulary: {exc}") from exc


def _plus_minus():
    try:
        "±".encode(sys.stdout.encoding or "ascii")
        return "±"
    except (UnicodeEncodeError, LookupError):
        return "+-"


#: What each --k-by criterion is called in messages.
_K_BY = {"score": "topic stability (the estimator's score)", "coherence": "NPMI coherence"}


def choose_k(args, texts, ks, progress):
    """Cross-validate each k of --k-range: (chosen k, dict of the curve).

    The chosen k is the smallest whose mean score over the folds is within one
    standard error of the best mean
    (:func:`~sklearn_nmfx.model_selection.smallest_k_within_one_se` with
    ``paired=True``): the standard error of its difference from the best k,
    fold by fold (the paired spread: the standard deviation over the folds of
    score_k - score_best, over sqrt(3)). A fold's score depends mostly on which
    documents it holds, the same for every k, and that offset says nothing
    about which k is better; the differences cancel it. The curve holds, per k,
    the mean, the paired spread, the raw standard deviation and each fold's
    score.
    """
    from sklearn.model_selection import KFold, cross_val_score

    from .model_selection import smallest_k_within_one_se
    from .topics import coherence_scorer

    scoring = coherence_scorer("npmi", n_top=args.top) if args.k_by == "coherence" else None
    n_splits = 3
    cv = KFold(n_splits, shuffle=True, random_state=args.random_state)
    folds = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i, k in enumerate(ks):
            progress.bar(i, len(ks), f"cross-validating k={k} ({n_splits} folds)")
            folds.append(cross_val_score(make_pipeline(args, k), texts, scoring=scoring,
                                         cv=cv, error_score="raise"))
            progress.bar(i + 1, len(ks), f"k={k}: {_K_BY[args.k_by]} {np.mean(folds[-1]):.6g}")
    _summarize_cv_warnings(caught, n_fits=len(ks) * n_splits)
    folds = np.array(folds)  # (n_k, 3)
    mean, std = folds.mean(axis=1), folds.std(axis=1)
    cv_results = {"param_n_components": list(ks), "mean_test_score": mean,
                  "std_test_score": std,
                  **{f"split{i}_test_score": folds[:, i] for i in range(n_splits)}}
    chosen = smallest_k_within_one_se(cv_results, paired=True)
    best = ks[int(np.argmax(mean))]
    if len(ks) > 1 and best == ks[-1]:
        warnings.warn(f"the best mean {_K_BY[args.k_by]} is at the largest k tried (k={best}): "
                      "it may still rise beyond it; try a --k-range that goes higher",
                      UserWarning, stacklevel=2)
    if len(ks) > 1 and chosen == ks[0] and ks[0] > 1:
        warnings.warn(f"the chosen k is the smallest tried (k={chosen}): a smaller k may do "
                      "as well; try a --k-range that starts lower", UserWarning, stacklevel=2)
    top = int(np.argmax(mean))
    paired = (folds - folds[top]).std(axis=1)
    curve = {"by": args.k_by, "rule": "the smallest k whose mean is within one standard "
             "error (paired_std / sqrt(3)) of the best mean", "k": list(ks),
             "mean": mean.tolist(), "paired_std": paired.tolist(),
             "standard_error": (paired / np.sqrt(n_splits)).tolist(), "std": std.tolist(),
             "folds": folds.tolist(), "best_mean_k": int(best), "chosen_k": int(chosen)}
    return chosen, curve


def _summarize_cv_warnings(caught, n_fits):
    """The cross-validation fits' warnings, once each, saying where they come from."""
    counts = {}
    for warning in caught:
        line = str(warning.message).strip().splitlines()[0] if str(warning.message) else ""
        key = (warning.category, line)
        counts[key] = counts.get(key, 0) + 1
    for (category, line), count in counts.items():
        hint = " (raise --max-iter or --tol)" if "iterations" in line.lower() else ""
        warnings.warn(category(f"in {count} of the {n_fits} cross-validation fits: "
                               f"{line}{hint}"), stacklevel=2)


def _check_k(ks, n_documents, n_terms, k_by):
    """Refuse ks the data cannot support; k_by is the --k-by criterion, None without
    --k-range."""
    if ks[-1] > n_terms:
        raise CLIError(f"k={ks[-1]} topics is more than the {_plural(n_terms, 'term')} of "
                       "the vocabulary: ask for fewer topics")
    if k_by is not None:
        if n_documents < 3:
            raise CLIError(f"--k-range needs at least 3 documents for its 3-fold "
                           f"cross-validation, got {n_documents}")
        if ks[-1] > n_documents:
            raise CLIError(f"--k-range goes up to k={ks[-1]}, more topics than the "
                           f"{_plural(n_documents, 'document')}: give a STOP of at most "
                           f"{n_documents}")
        held_out = n_documents // 3  # the smallest of the 3 folds
        if k_by == "score" and ks[-1] >= held_out:
            advice = (f"give a STOP of at most {held_out - 1}, or --k-by coherence"
                      if held_out >= 2 else "use --k-by coherence")
            raise CLIError(f"--k-range goes up to k={ks[-1]}, but topic stability refits each "
                           f"k on a held-out third of the documents ({held_out} of "
                           f"{n_documents}) and needs more documents there than topics: "
                           f"{advice}")
    elif ks[-1] > n_documents:
        warnings.warn(f"{_plural(ks[-1], 'topic')} for {_plural(n_documents, 'document')}: "
                      "fewer documents than topics, so some topics are no more than "
                      "single documents; ask for fewer topics (-k)", UserWarning,
                      stacklevel=2)


# -- outputs ------------------------------------------------------------------------
def _topic_terms(model, vocabulary, n_top):
    """Per topic: {'+': [(term, weight)...]} and '-' too for signed components."""
    from .topics import top_terms_with_weights

    pole = "both" if np.any(model.components_ < 0) else "positive"
    terms = top_terms_with_weights(model, vocabulary, n_top, pole=pole)
    return [{"+": t[0], "-": t[1]} if pole == "both" else {"+": t} for t in terms]


def print_topics(summary, topics):
    print(summary)
    for index, poles in enumerate(topics, start=1):
        line = " ".join(term for term, _ in poles["+"])
        if poles.get("-"):
            line += " | " + " ".join(term for term, _ in poles["-"])
        print(f"Topic # {index:02d}: {line}".rstrip())


def _document_records(documents, W):
    """Per document (numbered from 1): source, dominant topic (from 1; None for a
    document without topic weight), its share, and the full topic mix."""
    from .topics import dominant_topic

    topic, weight = dominant_topic(None, W=W)
    return [{"document": i, "source": d.source,
             "dominant_topic": None if t < 0 else int(t) + 1, "weight": float(w),
             "topics": [float(x) for x in row]}
            for i, (d, t, w, row) in enumerate(zip(documents, topic, weight, W), start=1)]


def _dump_json(result):
    def write(path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1, ensure_ascii=False)
            f.write("\n")
    return write


def _topics_csv(result):
    import csv

    def write(path):
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["topic", "pole", "rank", "term", "weight"])
            for topic in result["topics"]:
                for pole, key in (("+", "terms"), ("-", "negative_terms")):
                    for rank, term in enumerate(topic.get(key, []), start=1):
                        writer.writerow([topic["topic"], pole, rank, term["term"],
                                         repr(term["weight"])])
    return write


def _documents_csv(records, n_components):
    import csv

    def write(path):
        with open(path, "w", encoding="utf-8", newline="") as f:
            _write_documents_csv(f, records, n_components, csv)
    return write


def _write_documents_csv(f, records, n_components, csv):
    writer = csv.writer(f)
    writer.writerow(["document", "source", "dominant_topic", "weight",
                     *[f"topic_{k}" for k in range(1, n_components + 1)]])
    for record in records:
        topic = record["dominant_topic"]
        writer.writerow([record["document"], record["source"],
                         "" if topic is None else topic, repr(record["weight"]),
                         *[repr(x) for x in record["topics"]]])


def documents_csv_path(path):
    path = Path(path)
    return path.with_name(path.stem + ".documents.csv")


def _plot_writer(topics, title, suffix):
    def write(path):
        from matplotlib.figure import Figure

        n_topics = len(topics)
        n_cols = min(n_topics, 5)
        n_rows = -(-n_topics // n_cols)
        n_words = max(len(poles["+"]) for poles in topics) or 1
        fig = Figure(figsize=(3.2 * n_cols, 0.35 * n_words * n_rows + 1.2 * n_rows),
                     layout="constrained")
        axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
        for index, (ax, poles) in enumerate(zip(axes, topics), start=1):
            if poles["+"]:
                terms, weights = zip(*poles["+"])
                ax.barh(terms[::-1], weights[::-1], color=f"C{(index - 1) % 10}")
            ax.set_title(f"Topic # {index:02d}", fontsize=10)
            ax.tick_params(labelsize=8)
        for ax in axes[n_topics:]:
            ax.set_visible(False)
        fig.suptitle(title)
        fig.savefig(path, dpi=100, format=suffix.lstrip("."))
    return write


def _check_output_path(option, path, formats):
    if path is None:
        return
    suffix = Path(path).suffix.lower()
    if formats and suffix not in formats:
        raise _UsageError(f"{option} {path}: the file name must end in "
                          f"{' or '.join(formats)}")
    parent = Path(path).parent
    if not parent.is_dir():
        raise CLIError(f"{option} {path}: the folder {parent} does not exist")
    if Path(path).is_dir():
        raise CLIError(f"{option} {path}: is a folder")


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare the names
        return os.path.realpath(a) == os.path.realpath(b)


def _check_distinct_files(outputs, inputs):
    """Refuse outputs that name one file twice, or a file the run reads (--input,
    --model): the run would write over it."""
    named = []
    for option, path in outputs.items():
        if path is None:
            continue
        for other, other_path in named:
            if _same_file(path, other_path):
                raise _UsageError(f"{other} and {option} name the same file {path}")
        for other, input_path in inputs.items():
            if input_path not in (None, "-") and os.path.lexists(input_path) and _same_file(
                    path, input_path):
                raise _UsageError(f"{other} and {option} name the same file {path}: the "
                                  f"run would write over what it reads")
        named.append((option, path))


def _check_outputs(args):
    """Fail before the work, not after it, on outputs that cannot be written."""
    _check_output_path("--output", args.output, OUTPUT_FORMATS)
    _check_output_path("--plot", args.plot, PLOT_FORMATS)
    _check_output_path("--save", args.save, ())
    paths = {"--plot": args.plot, "--save": args.save}
    if args.output is not None:
        paths["--output"] = args.output
        if Path(args.output).suffix.lower() == ".csv":
            documents = documents_csv_path(args.output)
            if documents.is_dir():
                raise CLIError(f"--output {args.output}: its documents file {documents} "
                               "is a folder")
            paths["--output's documents file"] = documents
    _check_distinct_files(paths, {"--input": args.input})
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError as exc:
            raise CLIError("--plot needs matplotlib (pip install matplotlib)") from exc


def _check_device(device):
    from ._backend import resolve_backend

    try:
        resolve_backend(device)  # an unknown device or no CUDA: before any work
    except RuntimeError as exc:
        message = str(exc).replace("Use device=None for the CPU.", "Use --device cpu.")
        raise CLIError(message.replace("device=", "--device ")) from exc
    except ImportError as exc:
        raise CLIError(f"--device {device} needs PyTorch, which is not installed: pip "
                       "install 'sklearn-nmfx[torch]', or use --device cpu") from exc


def _check_input_exists(path):
    if path not in (None, "-") and not os.path.lexists(path):
        raise CLIError(f"{path}: no such file or folder")


# -- the commands -------------------------------------------------------------------
def run_topics(args, progress, outputs):
    _check_outputs(args)
    _check_device(args.device)
    path = _input_path(args, required=False)
    _check_input_exists(path)
    source = ("standard input" if path == "-" else path) if path is not None else (
        f"20 Newsgroups ({args.subset}: {', '.join(args.categories)})")
    progress(f"reading {source}")
    documents = load_documents(args, path)
    texts = [document.text for document in documents]
    progress(f"{_plural(len(texts), 'document')}; building the vocabulary")
    vectorizer, X = vectorize(args, texts)
    vocabulary = vectorizer.get_feature_names_out()
    n_terms = len(vocabulary)
    ks = args.k_range or [args.n_components]
    _check_k(ks, len(texts), n_terms, args.k_by if args.k_range is not None else None)
    curve = None
    if args.k_range is not None:
        progress(f"choosing k among {_describe(ks)} by {_K_BY[args.k_by]} (3-fold "
                 "cross-validation)")
        k, curve = choose_k(args, texts, ks, progress)
    else:
        k = args.n_components
    name = MODELS[args.model].__name__
    model = make_pipeline(args, k)["model"]
    with progress.working(f"fitting {name} with {_plural(k, 'topic')}"):
        W = model.fit_transform(X)
    topics = _topic_terms(model, vocabulary, args.top)
    records = _document_records(documents, W)

    details = [_plural(len(texts), "document"), _plural(n_terms, "term"),
               f"{name} with {_plural(k, 'topic')}"]
    if hasattr(model, "n_iter_"):
        details.append(_plural(int(model.n_iter_), "iteration"))
    if hasattr(model, "reconstruction_err_"):
        details.append(f"reconstruction error {model.reconstruction_err_:.4f}")

    result = {
        "model": name, "n_components": int(k), "n_documents": len(texts),
        "n_terms": int(n_terms), "numbering": "topics and documents from 1",
        "topics": [
            {"topic": i, **{key: [{"term": t, "weight": w} for t, w in poles[pole]]
                            for pole, key in (("+", "terms"), ("-", "negative_terms"))
                            if pole in poles}}
            for i, poles in enumerate(topics, start=1)],
        "documents": records,
    }
    if curve is not None:
        result["k_curve"] = curve
    if args.output is not None:
        if Path(args.output).suffix.lower() == ".json":
            outputs.stage(args.output, _dump_json(result))
        else:
            outputs.stage(args.output, _topics_csv(result))
            outputs.stage(documents_csv_path(args.output), _documents_csv(records, k))
    if args.plot is not None:
        outputs.stage(args.plot, _plot_writer(
            topics, f"{name}: top words of {_plural(k, 'topic')}",
            Path(args.plot).suffix.lower()))
    if args.save is not None:
        outputs.stage(args.save, _model_writer(vectorizer, model, args, k))

    progress.close()
    if curve is not None:
        pm = _plus_minus()
        print(f"k by {_K_BY[args.k_by]} (3-fold cross-validation: mean {pm} standard deviation "
              "over the folds of its difference from the best k; chosen: the smallest k "
              "within one standard error of the best mean):")
        for k_i, mean, std in zip(curve["k"], curve["mean"], curve["paired_std"]):
            marks = ("  <- chosen" if k_i == k else "") + (
                "  (best mean)" if k_i == curve["best_mean_k"] else "")
            print(f"  k={k_i:<3d} {mean:12.6g} {pm} {std:.3g}{marks}")
    print_topics(", ".join(details), topics)
    sys.stdout.flush()
    outputs.commit(progress)
    progress.note("done")
    return 0


def _describe(ks):
    if isinstance(ks, range) and len(ks) > 6:
        step = f" step {ks.step}" if ks.step != 1 else ""
        return f"{ks[0]} to {ks[-1]}{step}"
    return ", ".join(str(k) for k in ks)


def _model_writer(vectorizer, model, args, k):
    def write(path):
        import joblib
        from sklearn.pipeline import Pipeline

        joblib.dump({"kind": MODEL_FILE_KIND, "version": __version__,
                     "pipeline": Pipeline([("tfidf", vectorizer), ("model", model)]),
                     "n_components": int(k), "model": MODELS[args.model].__name__},
                    path)
    return write


def load_model(path):
    """The (Pipeline, description) saved by ``topics --save``; one-line errors."""
    import pickle

    import joblib

    if not os.path.isfile(path):
        raise CLIError(f"--model {path}: no such file" if not os.path.lexists(path)
                       else f"--model {path}: not a file")
    try:
        saved = joblib.load(path)
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError, TypeError,
            AttributeError, ImportError, ModuleNotFoundError) as exc:
        raise CLIError(f"--model {path}: not a model saved by '{PROG} topics --save' "
                       f"({type(exc).__name__}: {exc})") from exc
    except OSError as exc:
        raise CLIError(f"--model {path}: cannot read it: {exc.strerror or exc}") from exc
    if not (isinstance(saved, dict) and saved.get("kind") == MODEL_FILE_KIND):
        raise CLIError(f"--model {path}: not a model saved by '{PROG} topics --save'")
    from sklearn.pipeline import Pipeline

    pipeline, k = saved.get("pipeline"), saved.get("n_components")
    fields_ok = (isinstance(pipeline, Pipeline) and isinstance(saved.get("model"), str)
                 and isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1)
    if not fields_ok:
        raise CLIError(f"--model {path}: not a model saved by '{PROG} topics --save' (its "
                       "pipeline, model name or number of topics is missing or malformed)")
    return saved


def run_transform(args, progress, outputs):
    _check_output_path("--output", args.output, OUTPUT_FORMATS)
    _check_distinct_files({"--output": args.output},
                          {"--input": args.input, "--model": args.model})
    path = _input_path(args, required=True)
    _check_input_exists(path)
    progress(f"loading {args.model}")
    saved = load_model(args.model)
    pipeline = saved["pipeline"]
    progress(f"reading {'standard input' if path == '-' else path}")
    documents = load_documents(args, path)
    texts = [document.text for document in documents]
    with progress.working(f"topic mixes of {_plural(len(texts), 'document')} "
                          f"({saved['model']}, {_plural(saved['n_components'], 'topic')})"):
        try:
            W = pipeline.transform(texts)
        except RuntimeError as exc:
            if "CUDA" in str(exc):
                raise CLIError(f"the model was fitted on a GPU, which is not available "
                               f"here: {exc}") from exc
            raise
    records = _document_records(documents, np.asarray(W))
    k = int(saved["n_components"])
    if args.output is None:
        import csv

        progress.close()
        _write_documents_csv(sys.stdout, records, k, csv)
        sys.stdout.flush()
    elif Path(args.output).suffix.lower() == ".json":
        outputs.stage(args.output, _dump_json(
            {"model": saved["model"], "n_components": k, "n_documents": len(texts),
             "numbering": "topics and documents from 1", "documents": records}))
    else:
        outputs.stage(args.output, _documents_csv(records, k))
    outputs.commit(progress)
    progress.note("done")
    return 0


def _fail(message, code):
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return code


def main(argv=None):
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help", "--version"):
        argv = ["topics", *argv]
    show_traceback = "--traceback" in argv
    progress = _Progress(False, False)
    outputs = _Outputs()
    try:
        args = build_parser().parse_args(argv)
        progress = _Progress(not args.quiet, sys.stderr.isatty())
        # Warnings (convergence, download retries) become one line each after a
        # successful run, and are dropped when the run fails: its error is the line.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            command = run_transform if args.command == "transform" else run_topics
            code = command(args, progress, outputs)
        _report_warnings(caught, args.quiet)
        return code
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        progress.close()
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except _UsageError as exc:
        progress.close()
        return _fail(exc, 2)
    except (CLIError, CorpusError) as exc:
        progress.close()
        if show_traceback:
            raise
        return _fail(exc, 1)
    except MemoryError:
        progress.close()
        if show_traceback:
            raise
        return _fail("out of memory (try --max-features, or a smaller corpus)", 1)
    except (ValueError, TypeError, ImportError, RuntimeError, OSError) as exc:
        progress.close()
        if show_traceback:
            raise
        return _fail(exc, 1)
    except Exception as exc:  # a bug: still one line, with the way to the traceback
        progress.close()
        if show_traceback:
            raise
        return _fail(f"unexpected {type(exc).__name__}: {exc} (run again with "
                     "--traceback and report it)", 1)
    finally:
        outputs.discard()
