"""The command line, run in-process through ``main([...])`` (and once as a subprocess).

The corpora are small, written in tmp_path: three clear themes, so that each
topic's top words and each document's dominant topic can be checked.
"""

import csv
import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from sklearn_nmfx.cli import main, parse_k_range

from .conftest import skip_unless_newsgroups_readable

THEMES = {
    "space": "rocket orbit planet astronaut launch telescope galaxy comet".split(),
    "food": "recipe butter flour oven bake sugar dough pastry".split(),
    "sport": "football goal referee stadium striker league match penalty".split(),
}


def themed_documents(n_per_theme=12, seed=0):
    """(texts, theme of each) : a few dozen short documents with clear themes."""
    rng = np.random.RandomState(seed)
    texts, labels = [], []
    for _ in range(n_per_theme):
        for theme, words in THEMES.items():
            texts.append(" ".join(rng.choice(words, size=6)))
            labels.append(theme)
    return texts, labels


def run(capsys, *argv):
    """(exit status, stdout, stderr) of ``sklearn-nmfx argv``."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def topic_lines(out):
    return [line.split(":", 1)[1].split() for line in out.splitlines()
            if line.startswith("Topic # ")]


def assert_themes_found(out, n_top=3):
    """Each theme's words lead exactly one topic."""
    lines = topic_lines(out)
    assert len(lines) == len(THEMES)
    found = sorted(theme for words in lines for theme, vocabulary in THEMES.items()
                   if set(words[:n_top]) <= set(vocabulary))
    assert found == sorted(THEMES)


PROGRESS_LINE = re.compile(r"^sklearn-nmfx: \d\d:\d\d:\d\d \[ *\d+\.\d s\] ")


def progress_lines(err):
    return [line for line in err.splitlines() if PROGRESS_LINE.match(line)]


def assert_one_line_error(code, out, err, *fragments):
    """One error line on stderr, after the progress lines (if any) of the stages run."""
    assert code != 0
    assert "Traceback" not in err and "Traceback" not in out
    lines = [line for line in err.strip().splitlines() if not PROGRESS_LINE.match(line)]
    assert len(lines) == 1, err
    assert err.strip().splitlines()[-1] == lines[0]
    assert lines[0].startswith("sklearn-nmfx: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def corpus_folder(tmp_path):
    return write_folder(tmp_path / "docs", themed_documents()[0])


def write_folder(folder, texts):
    folder.mkdir()
    for i, text in enumerate(texts):
        (folder / f"doc{i:03d}.txt").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def corpus_csv(tmp_path):
    texts, labels = themed_documents()
    path = tmp_path / "corpus.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "body", "label"])
        for i, (text, label) in enumerate(zip(texts, labels)):
            writer.writerow([i, text, label])
    return path


# -- input formats ------------------------------------------------------------------
def test_folder_of_txt_files(capsys, corpus_folder):
    code, out, err = run(capsys, "topics", "--input", str(corpus_folder), "-k", "3")
    assert code == 0, err
    assert out.startswith("36 documents, 24 terms, MUNMF with 3 topics")
    assert_themes_found(out)


def test_csv_with_text_column(capsys, corpus_csv):
    code, out, err = run(capsys, "--input", str(corpus_csv), "--text-column", "body",
                         "-k", "3", "--model", "sgd")
    assert code == 0, err
    assert "SGDNMF with 3 topics" in out
    assert_themes_found(out)


def test_jsonl_with_text_field(capsys, tmp_path):
    texts, _ = themed_documents()
    path = tmp_path / "corpus.jsonl"
    lines = [json.dumps({"id": i, "content": t}) for i, t in enumerate(texts)]
    path.write_text("\n".join(lines[:5] + [""] + lines[5:]) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "--input", str(path), "--text-field", "content", "-k", "3",
                         "--model", "svd")
    assert code == 0, err
    assert "TruncatedSVDTopics with 3 topics" in out
    assert "|" in topic_lines(out)[0]  # SVD topics show both poles


def test_svd_pole_without_negative_weights_shows_nothing(capsys, tmp_path, monkeypatch):
    # A word shared by every document: the first SVD component of the TF-IDF matrix
    # has no negative weight, so its negative pole must show nothing (not the
    # smallest positive weights), in the table and in the outputs.
    texts = [text + " news today" for text in themed_documents()[0]]
    path = tmp_path / "shared.txt"
    path.write_text("\n".join(texts), encoding="utf-8")
    code, out, err = run(capsys, "--input", str(path), "-k", "3", "--model", "svd",
                         "--output", str(tmp_path / "svd.json"))
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("Topic # ")]
    assert "|" not in lines[0] and all("|" in line for line in lines[1:])
    topics = json.loads((tmp_path / "svd.json").read_text())["topics"]
    assert topics[0]["negative_terms"] == []
    assert all(t["weight"] < 0 for topic in topics[1:] for t in topic["negative_terms"])
    code, out, err = run(capsys, "--input", str(path), "-k", "3", "--model", "svd",
                         "--output", str(tmp_path / "svd.csv"))
    with open(tmp_path / "svd.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert not [r for r in rows if r["topic"] == "1" and r["pole"] == "-"]


def test_no_zero_weight_topic_words_and_a_warning_for_too_many_topics(capsys, tmp_path):
    path = tmp_path / "two.txt"
    path.write_text("apple banana\ncherry apple\n", encoding="utf-8")
    code, out, err = run(capsys, "--input", str(path), "-k", "3", "--output",
                         str(tmp_path / "two.json"))
    assert code == 0, err
    assert "3 topics for 2 documents: fewer documents than topics" in err
    for topic in json.loads((tmp_path / "two.json").read_text())["topics"]:
        assert all(term["weight"] > 0 for term in topic["terms"])
    code, out, err = run(capsys, "--input", str(path), "-k", "1")
    assert out.startswith("2 documents, 3 terms, MUNMF with 1 topic, ")
    path.write_text("apple banana cherry\n", encoding="utf-8")
    code, out, err = run(capsys, "--input", str(path), "-k", "1")
    assert out.startswith("1 document, 3 terms, MUNMF with 1 topic, ")


def test_stdin_one_document_per_line(capsys, monkeypatch):
    texts, _ = themed_documents()
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n\n".join(texts) + "\n"))
    code, out, err = run(capsys, "--input", "-", "-k", "3")
    assert code == 0, err
    assert out.startswith("36 documents")  # the empty lines are skipped
    assert_themes_found(out)


def test_utf8_with_byte_order_mark(capsys, corpus_csv):
    data = corpus_csv.read_bytes()
    corpus_csv.write_bytes(b"\xef\xbb\xbf" + data)  # the header's first name is "id"
    code, out, err = run(capsys, "--input", str(corpus_csv), "--text-column", "body", "-k", "3")
    assert code == 0, err
    assert_themes_found(out)


def test_vectorizer_options(capsys, corpus_folder):
    code, out, err = run(capsys, "--input", str(corpus_folder), "-k", "3",
                         "--max-features", "10", "--min-df", "2", "--max-df", "0.9",
                         "--stop-words", "none", "--top", "4")
    assert code == 0, err
    assert ", 10 terms," in out.splitlines()[0]
    assert all(1 <= len(words) <= 4 for words in topic_lines(out))  # no zero-weight words
    assert max(len(words) for words in topic_lines(out)) == 4


@pytest.mark.parametrize("model", ["munmf", "sgd", "autograd", "svd"])
def test_every_model(capsys, corpus_folder, model):
    pytest.importorskip("torch") if model == "autograd" else None
    code, out, err = run(capsys, "--input", str(corpus_folder), "-k", "3", "--model", model,
                         "--device", "cpu", "--random-state", "0")
    assert code == 0, err
    assert len(topic_lines(out)) == 3


# -- outputs ------------------------------------------------------------------------
def test_json_output(capsys, corpus_folder, tmp_path):
    path = tmp_path / "topics.json"
    code, out, err = run(capsys, "--input", str(corpus_folder), "-k", "3", "--top", "5",
                         "--output", str(path))
    assert code == 0, err
    result = json.loads(path.read_text(encoding="utf-8"))
    assert (result["model"], result["n_components"], result["n_documents"]) == ("MUNMF", 3, 36)
    assert [t["topic"] for t in result["topics"]] == [1, 2, 3]
    printed = topic_lines(out)
    for topic, words in zip(result["topics"], printed):
        assert [term["term"] for term in topic["terms"]] == words
        weights = [term["weight"] for term in topic["terms"]]
        assert weights == sorted(weights, reverse=True) and weights[-1] > 0
    # each document's dominant topic is the topic led by its theme's words
    _, labels = themed_documents()
    topic_of_theme = {}
    for topic in result["topics"]:
        for theme, vocabulary in THEMES.items():
            if topic["terms"][0]["term"] in vocabulary:
                topic_of_theme[theme] = topic["topic"]
    documents = sorted(result["documents"], key=lambda d: d["source"])
    assert [d["dominant_topic"] for d in documents] == [topic_of_theme[t] for t in labels]
    assert all(0 < d["weight"] <= 1 for d in documents)


def test_csv_output(capsys, corpus_csv, tmp_path):
    path = tmp_path / "out.csv"
    code, out, err = run(capsys, "--input", str(corpus_csv), "--text-column", "body",
                         "-k", "3", "--top", "4", "--output", str(path))
    assert code == 0, err
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * 4
    assert [r["term"] for r in rows if r["topic"] == "1"] == topic_lines(out)[0]
    assert all(float(r["weight"]) > 0 and r["pole"] == "+" for r in rows)
    with open(tmp_path / "out.documents.csv", newline="", encoding="utf-8") as f:
        documents = list(csv.DictReader(f))
    _, labels = themed_documents()
    assert len(documents) == len(labels)
    # documents of one theme share their dominant topic, and themes differ
    by_theme = {}
    for document, label in zip(documents, labels):
        by_theme.setdefault(label, set()).add(document["dominant_topic"])
    assert all(len(topics) == 1 for topics in by_theme.values())
    assert len(set.union(*by_theme.values())) == 3
    assert documents[0]["source"] == f"{corpus_csv}:2"


def test_plot_written(capsys, corpus_folder, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "topics.png"
    code, _, err = run(capsys, "--input", str(corpus_folder), "-k", "3", "--plot", str(path))
    assert code == 0, err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000


def test_progress_lines_and_files_written(capsys, corpus_folder, monkeypatch, tmp_path):
    out_csv = tmp_path / "x.csv"
    args = ["--input", str(corpus_folder), "-k", "3", "--output", str(out_csv)]
    _, _, err = run(capsys, *args)
    # not a terminal (capsys): plain timestamped lines, one per stage, and each file written
    lines = progress_lines(err)
    assert lines == err.strip().splitlines()
    text = "\n".join(lines)
    assert "reading" in text and "fitting MUNMF with 3 topics" in text and "done" in text
    assert f"wrote {out_csv}" in text and f"wrote {tmp_path / 'x.documents.csv'}" in text
    # a terminal: one line rewritten in place ("\r"), the files written on lines of their own
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    _, _, err = run(capsys, *args)
    assert "\r\x1b[K" in err and "fitting MUNMF with 3 topics" in err
    assert f"wrote {out_csv}\n" in err and err.endswith("done\n")
    _, _, err = run(capsys, *args, "--quiet")
    assert err == ""


# -- choosing k ---------------------------------------------------------------------
@pytest.mark.parametrize("k_by", ["score", "coherence"])
def test_k_range(capsys, tmp_path, k_by):
    folder = write_folder(tmp_path / "docs", themed_documents(n_per_theme=30)[0])
    path = tmp_path / "k.json"
    code, out, err = run(capsys, "--input", str(folder), "--k-range", "2:5",
                         "--k-by", k_by, "--output", str(path))
    assert code == 0, err
    curve = json.loads(path.read_text())["k_curve"]
    assert curve["by"] == k_by and curve["k"] == [2, 3, 4, 5]
    folds = np.array(curve["folds"])
    assert folds.shape == (4, 3) and np.all(np.isfinite(folds))
    np.testing.assert_allclose(curve["mean"], folds.mean(axis=1))
    np.testing.assert_allclose(curve["std"], folds.std(axis=1))
    mean = np.array(curve["mean"])
    top = int(np.argmax(mean))
    std = (folds - folds[top]).std(axis=1)  # each k's difference from the best, fold by fold
    np.testing.assert_allclose(curve["paired_std"], std)
    # the one-standard-error rule, paired: the smallest k whose mean is within one
    # standard error of its difference from the best
    best = min(k for k, m, s in zip(curve["k"], mean, std) if m >= mean[top] - s / np.sqrt(3))
    assert curve["chosen_k"] == best and curve["best_mean_k"] == curve["k"][top]
    chosen = [line for line in out.splitlines() if "<- chosen" in line]
    assert len(chosen) == 1 and f"k={best:<3d}" in chosen[0]
    # each k's line shows its mean and its spread
    for k, m, s in zip(curve["k"], mean, std):
        line = next(line for line in out.splitlines() if line.startswith(f"  k={k:<3d}"))
        assert f"{m:12.6g} ± {s:.3g}" in line
    assert f"with {best} topics" in out
    if k_by == "score":
        assert best == 3  # the three themes
    else:
        # coherence does not see a missing theme (k=2 has two clean topics), but
        # it drops once themes are split (k > 3)
        assert best in (2, 3) and min(curve["mean"][:2]) > max(curve["mean"][2:])


def test_parse_k_range():
    assert list(parse_k_range("2:30")) == list(range(2, 31))
    assert list(parse_k_range("2:10:4")) == [2, 6, 10]
    assert parse_k_range("8,2,4") == [2, 4, 8]
    huge = parse_k_range("2:1000000000")  # nothing built: checked against the corpus later
    assert len(huge) == 999_999_999 and huge[-1] == 1_000_000_000


# -- bad input ----------------------------------------------------------------------
def write(path, data):
    path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data)
    return str(path)


@pytest.mark.parametrize("argv, fragments", [
    (["--model", "lda"], ["invalid choice", "lda"]),
    (["--device", "gpu7"], ["gpu7"]),
    (["-k", "0"], ["not a positive integer"]),
    (["--k-range", "5:2"], ["not a range"]),
    (["--min-df", "often"], ["often"]),
    (["--output", "topics.xlsx"], [".csv or .json"]),
    (["--input", "/nonexistent/corpus"], ["/nonexistent/corpus", "no such file"]),
])
def test_bad_arguments(capsys, argv, fragments):
    assert_one_line_error(*run(capsys, *argv), *fragments)


def test_no_cuda(capsys, corpus_folder):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert_one_line_error(*run(capsys, "--input", str(corpus_folder), "--device", "cuda"),
                          "CUDA is not available")


def test_bad_files(capsys, tmp_path, corpus_csv):
    cases = [
        (write(tmp_path / "empty.txt", "\n \n\n"), [], ["no documents"]),
        (write(tmp_path / "stop.txt", "the and of\nit is a\n"), [], ["vocabulary is empty"]),
        (str(corpus_csv), ["--text-column", "content"], ["no column 'content'", "'body'"]),
        (write(tmp_path / "latin1.txt", "caf\xe9 cr\xe8me\n".encode("latin-1")), [],
         ["latin1.txt", "not UTF-8"]),
        (write(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), [],
         ["image.txt", "not UTF-8"]),
        (write(tmp_path / "nul.txt", "ab\x00cd\n" * 3), [], ["nul.txt", "binary"]),
        (write(tmp_path / "bad.jsonl", '{"text": "a b"}\n{oops\n'), [], ["line 2", "JSON"]),
        (write(tmp_path / "nofield.jsonl", '{"body": "a b"}\n'), [], ["no 'text' field"]),
        (write(tmp_path / "corpus.docx", "x"), [], ["unknown input format"]),
        (write(tmp_path / "two.txt", "rocket orbit\nbutter flour\n"), ["-k", "9"],
         ["k=9", "4 terms"]),
    ]
    for path, extra, fragments in cases:
        assert_one_line_error(*run(capsys, "--input", path, *extra), *fragments)


def test_folder_with_a_bad_file_names_it(capsys, corpus_folder):
    (corpus_folder / "sub").mkdir()
    (corpus_folder / "sub" / "old.txt").write_bytes("na\xefve\n".encode("cp1252"))
    assert_one_line_error(*run(capsys, "--input", str(corpus_folder)), "old.txt", "not UTF-8")


def test_empty_folder(capsys, tmp_path):
    assert_one_line_error(*run(capsys, "--input", str(tmp_path)), "no .txt files")


def test_unreadable_folder(capsys, corpus_folder, monkeypatch):
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        corpus_folder.chmod(0)
    else:  # permissions do not bind root: the folder refuses to be listed instead
        scandir = os.scandir

        def refuse(path="."):
            if os.fspath(path) == os.fspath(corpus_folder):
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return scandir(path)

        monkeypatch.setattr(os, "scandir", refuse)
    try:
        assert_one_line_error(*run(capsys, "--input", str(corpus_folder)),
                              "cannot read the folder", "Permission denied")
    finally:
        corpus_folder.chmod(0o755)


@pytest.mark.slow
def test_csv_bomb_is_streamed_and_capped(capsys, tmp_path):
    # millions of empty rows: skipped while streaming, the documents kept are few
    path = tmp_path / "bomb.csv"
    with open(path, "w") as f:
        f.write("text\n")
        for _ in range(40):
            f.write("\n" * 50_000 + "rocket orbit planet\n" + ",\n" * 50_000)
    code, out, err = run(capsys, "--input", str(path), "-k", "1")
    assert code == 0, err
    assert out.startswith("40 documents")
    # the same over a budget of characters or documents: a clear refusal
    assert_one_line_error(*run(capsys, "--input", str(path), "--max-chars", "100000"),
                          "larger than 100000 characters", "--max-chars")
    assert_one_line_error(*run(capsys, "--input", str(path), "--max-documents", "10"),
                          "more than 10 non-empty documents")


def test_huge_line_is_not_read_whole(capsys, tmp_path):
    path = write(tmp_path / "long.txt", "word " * 400_000)  # one 2 MB line
    assert_one_line_error(*run(capsys, "--input", path, "--max-chars", "1000000"),
                          "larger than 1000000 characters")


def test_keyboard_interrupt(capsys, corpus_folder, monkeypatch):
    from sklearn_nmfx import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "read_corpus", interrupted)
    code, _, err = run(capsys, "--input", str(corpus_folder))
    assert code == 130
    assert err.strip().splitlines()[-1] == "sklearn-nmfx: interrupted"
    assert "Traceback" not in err


def test_unexpected_error_is_one_line(capsys, corpus_folder, monkeypatch):
    from sklearn_nmfx import cli

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(cli, "read_corpus", broken)
    assert_one_line_error(*run(capsys, "--input", str(corpus_folder)),
                          "ZeroDivisionError", "--traceback")
    with pytest.raises(ZeroDivisionError):
        main(["--input", str(corpus_folder), "--traceback"])


# -- the module as a program, and the fast.ai lesson's four-newsgroup corpus -------
@pytest.mark.slow
def test_python_m_subprocess(corpus_folder, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
         os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "sklearn_nmfx", "topics", "--input", str(corpus_folder),
         "-k", "3"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert_themes_found(done.stdout)
    # not a terminal: timestamped progress lines only
    assert progress_lines(done.stderr) == done.stderr.splitlines()
    assert "fitting MUNMF with 3 topics" in done.stderr
    bad = subprocess.run([sys.executable, "-m", "sklearn_nmfx", "--input",
                          str(tmp_path / "missing")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("sklearn-nmfx: error:")


@pytest.mark.slow
def test_fastai_four_newsgroup_corpus(capsys, tmp_path):
    skip_unless_newsgroups_readable()
    path = tmp_path / "fastai.json"
    code, out, err = run(capsys, "topics", "--output", str(path))
    assert code == 0, err
    assert out.startswith("2034 documents, 26576 terms, MUNMF with 5 topics")
    lines = topic_lines(out)
    assert any(words[:2] == ["space", "nasa"] for words in lines)
    assert any(words[0] == "graphics" for words in lines)
    result = json.loads(path.read_text())
    # the space topic dominates most sci.space posts
    space = next(i for i, words in enumerate(lines, start=1) if words[0] == "space")
    posts = [d for d in result["documents"] if d["source"].startswith("sci.space/")]
    share = np.mean([d["dominant_topic"] == space for d in posts])
    assert share > 0.5


def test_unknown_category(capsys):
    skip_unless_newsgroups_readable()
    assert_one_line_error(*run(capsys, "--categories", "sci.spaec", "sci.med"),
                          "['sci.spaec']", "sci.space")
