"""Command line: ``sklearn-nmfx topics`` prints the topics of a corpus.

By default the corpus is the seeds' four categories of 20 Newsgroups (headers,
footers and quotes removed), loaded with scikit-learn's ``fetch_20newsgroups``:
offline from ``$SCIKIT_LEARN_DATA`` when the data are there, downloaded once
otherwise.
"""

import argparse
import sys

SEED_CATEGORIES = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-nmfx", description="Topic modeling with non-negative matrix factorization."
    )
    sub = parser.add_subparsers(dest="command")
    topics = sub.add_parser("topics", help="print the topics of 20 Newsgroups")
    topics.add_argument("-k", "--n-components", type=int, default=5, help="number of topics")
    topics.add_argument("--top", type=int, default=8, help="words shown per topic")
    topics.add_argument("--categories", nargs="+", default=SEED_CATEGORIES,
                        help="20 Newsgroups categories (default: the seeds' four)")
    topics.add_argument("--subset", default="train", choices=["train", "test", "all"])
    topics.add_argument("--device", default=None, help="None/cpu, torch, cuda, cuda:N, mps")
    topics.add_argument("--random-state", type=int, default=1)
    return parser


def _load_20newsgroups(categories, subset):
    from sklearn.datasets import fetch_20newsgroups

    return fetch_20newsgroups(
        subset=subset, categories=categories, remove=("headers", "footers", "quotes")
    ).data


def run_topics(args):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline

    from . import MUNMF

    documents = _load_20newsgroups(args.categories, args.subset)
    pipeline = Pipeline([
        ("tfidf", TfidfVectorizer(stop_words="english")),
        ("nmf", MUNMF(n_components=args.n_components, random_state=args.random_state,
                      device=args.device)),
    ])
    pipeline.fit(documents)
    vocabulary = pipeline["tfidf"].get_feature_names_out()
    model = pipeline["nmf"]
    print(f"{len(documents)} documents, {len(vocabulary)} terms, "
          f"{model.n_components_} topics, {model.n_iter_} iterations, "
          f"reconstruction error {model.reconstruction_err_:.4f}")
    for index, topic in enumerate(model.components_, start=1):
        words = vocabulary[topic.argsort()[::-1][: args.top]]
        print(f"Topic # {index:02d}: {' '.join(words)}")
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["topics", *(argv or [])])
    try:
        return run_topics(args)
    except (ValueError, TypeError, ImportError, RuntimeError, OSError) as exc:
        print(f"sklearn-nmfx: error: {exc}", file=sys.stderr)
        return 2
