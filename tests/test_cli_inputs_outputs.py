"""The command line as a new user meets it (issue 18) and its hostile cases (issue 19):
piped input, compressed and suffix-less files, option validation, no partial files,
--k-range refusals, save and apply, numbering, progress in a pipe."""

import bz2
import csv
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_nmfx import cli

from .test_cli import (
    assert_one_line_error,
    assert_themes_found,
    progress_lines,
    run,
    themed_documents,
    write_folder,
)

ROOT = Path(__file__).resolve().parents[1]


def lines_file(path, texts=None, opener=open):
    texts = themed_documents()[0] if texts is None else texts
    with opener(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(texts) + "\n")
    return path


# -- input --------------------------------------------------------------------------
def test_piped_stdin_is_read_without_input(capsys, tmp_path, monkeypatch):
    path = lines_file(tmp_path / "texts.txt")
    with open(path, encoding="utf-8") as stdin:  # a real file: `... < texts.txt`
        monkeypatch.setattr(sys, "stdin", stdin)
        code, out, err = run(capsys, "topics", "-k", "3")
    assert code == 0, err
    assert out.startswith("36 documents")
    assert "reading standard input" in err
    assert_themes_found(out)


def test_piped_stdin_subprocess(tmp_path):
    path = lines_file(tmp_path / "texts.txt")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT),
                                                        os.environ.get("PYTHONPATH", "")])}
    with open(path, "rb") as f:
        text = f.read()
    done = subprocess.run([sys.executable, "-m", "sklearn_nmfx", "topics", "-k", "3"],
                          input=text, capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith("36 documents")
    err = done.stderr.decode()
    assert progress_lines(err) and "reading standard input" in err  # progress in a pipe


@pytest.mark.parametrize("name, opener", [("texts.txt.gz", gzip.open),
                                          ("texts.txt.bz2", bz2.open),
                                          ("texts.gz", gzip.open),
                                          ("texts", open), ("texts.cor", open)])
def test_compressed_and_suffix_less_files(capsys, tmp_path, name, opener):
    path = lines_file(tmp_path / name, opener=opener)
    extra = ["--format", "lines"] if name.endswith(".cor") else []
    code, out, err = run(capsys, "--input", str(path), "-k", "3", *extra)
    assert code == 0, err
    assert out.startswith("36 documents")
    assert_themes_found(out)


def test_unknown_suffix_names_format_option(capsys, tmp_path):
    path = lines_file(tmp_path / "texts.cor")
    assert_one_line_error(*run(capsys, "--input", str(path)), "unknown input format",
                          "--format")


def test_compressed_csv_and_format_option(capsys, tmp_path):
    texts, _ = themed_documents()
    path = tmp_path / "corpus.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["body"])
        writer.writerows([t] for t in texts)
    code, out, err = run(capsys, "--input", str(path), "--text-column", "body", "-k", "3")
    assert code == 0, err
    assert_themes_found(out)
    # a CSV under another name, read with --format csv
    plain = tmp_path / "corpus.data"
    plain.write_bytes(gzip.decompress(path.read_bytes()))
    code, out, err = run(capsys, "--input", str(plain), "--format", "csv",
                         "--text-column", "body", "-k", "3")
    assert code == 0, err
    assert out.startswith("36 documents")


def test_damaged_gzip_is_one_line(capsys, tmp_path):
    path = tmp_path / "texts.txt.gz"
    path.write_bytes(gzip.compress(b"rocket orbit\n" * 50)[:30])
    assert_one_line_error(*run(capsys, "--input", str(path)), "texts.txt.gz",
                          "cannot be decompressed")
    path.write_bytes(b"not gzip at all")
    assert_one_line_error(*run(capsys, "--input", str(path)), "cannot be decompressed")


def test_deeply_nested_jsonl_names_file_and_line(capsys, tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"text": "rocket orbit"}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    assert_one_line_error(*run(capsys, "--input", str(path)), "deep.jsonl line 2",
                          "nested too deeply")


# -- options ------------------------------------------------------------------------
@pytest.mark.parametrize("argv, fragment", [
    (["--min-df", "-1"], "argument --min-df"),
    (["--max-df", "0"], "argument --max-df"),
    (["--max-df", "-3"], "argument --max-df"),
    (["--max-df", "1.5"], "not in [0.0, 1.0]"),
    (["--min-df", "nan"], "argument --min-df"),
    (["--max-iter", "0"], "argument --max-iter"),
    (["--tol", "-1"], "argument --tol"),
    (["--format", "xml"], "invalid choice"),
])
def test_bad_options_exit_2_with_usage(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert_one_line_error(code, out, err, fragment, "--help")


def test_max_iter_and_tol_reach_the_estimator(capsys, tmp_path, monkeypatch):
    folder = write_folder(tmp_path / "docs", themed_documents()[0])
    code, out, err = run(capsys, "--input", str(folder), "-k", "3", "--max-iter", "7",
                         "--tol", "1e-12")
    assert code == 0, err
    assert "7 iterations" in out
    seen = {}
    original = cli.make_pipeline

    def spy(args, n_components):
        pipe = original(args, n_components)
        seen.update(pipe["model"].get_params())
        return pipe

    monkeypatch.setattr(cli, "make_pipeline", spy)
    run(capsys, "--input", str(folder), "-k", "3", "--model", "svd", "--max-iter", "3",
        "--tol", "0.5")
    assert seen["n_iter"] == 3 and seen["tol"] == 0.5


def test_no_cuda_advises_device_cpu(capsys, tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    folder = write_folder(tmp_path / "docs", themed_documents()[0])
    code, out, err = run(capsys, "--input", str(folder), "--device", "cuda")
    assert_one_line_error(code, out, err, "CUDA is not available", "--device cpu")
    assert "device=None" not in err


# -- choosing k ---------------------------------------------------------------------
def test_k_range_above_the_documents_is_refused_before_fitting(capsys, tmp_path,
                                                               monkeypatch):
    path = lines_file(tmp_path / "texts.txt")

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted")

    monkeypatch.setattr(cli, "choose_k", no_fit)
    assert_one_line_error(*run(capsys, "--input", str(path), "--k-range", "2:1000000000"),
                          "k=1000000000", "24 terms")
    assert_one_line_error(*run(capsys, "--input", str(path), "--k-range", "2:30",
                               "--stop-words", "none", "--max-features", "20"),
                          "k=30", "20 terms")
    small = lines_file(tmp_path / "small.txt",
                       ["rocket orbit", "butter flour", "goal match", "comet planet"])
    assert_one_line_error(*run(capsys, "--input", str(small), "--k-range", "2:6",
                               "--stop-words", "none"),
                          "k=6", "4 documents")
    # topic stability refits each k on the held-out third: k below it, or coherence
    nine = lines_file(tmp_path / "nine.txt", [f"rocket orbit{i} butter flour goal{i % 3}"
                                              for i in range(9)])
    assert_one_line_error(*run(capsys, "--input", str(nine), "--k-range", "2:3",
                               "--stop-words", "none"),
                          "k=3", "(3 of 9)", "at most 2", "--k-by coherence")
    assert_one_line_error(*run(capsys, "--input", str(small), "--k-range", "1:2",
                               "--stop-words", "none"),
                          "(1 of 4)", "use --k-by coherence")


def test_k_range_edge_warnings_and_cv_warnings(capsys, tmp_path):
    folder = write_folder(tmp_path / "docs", themed_documents(n_per_theme=20)[0])
    code, out, err = run(capsys, "--input", str(folder), "--k-range", "1,2",
                         "--max-iter", "3")
    assert code == 0, err
    assert "largest k tried (k=2)" in err
    # the cross-validation fits' warnings say so, with what to do about them
    cv_warnings = [line for line in err.splitlines() if "cross-validation fits" in line]
    assert cv_warnings and "of the 6 cross-validation fits" in cv_warnings[0]
    assert "--max-iter" in cv_warnings[0]


# -- outputs: all or none -----------------------------------------------------------
def test_failed_run_leaves_no_partial_file(capsys, tmp_path, monkeypatch):
    folder = write_folder(tmp_path / "docs", themed_documents()[0])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "old.json").write_text("kept")

    def broken(path):
        raise ValueError("plot exploded")

    monkeypatch.setattr(cli, "_plot_writer", lambda *a: broken)
    code, out, err = run(capsys, "--input", str(folder), "-k", "3",
                         "--output", str(out_dir / "old.json"),
                         "--plot", str(out_dir / "t.png"), "--save", str(out_dir / "m.joblib"))
    assert code == 1 and "plot exploded" in err
    assert sorted(p.name for p in out_dir.iterdir()) == ["old.json"]  # no temporary left
    assert (out_dir / "old.json").read_text() == "kept"


def test_a_documents_file_that_cannot_be_written_leaves_no_topics_file(capsys, tmp_path,
                                                                        monkeypatch):
    folder = write_folder(tmp_path / "docs", themed_documents()[0])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    # a folder where --output's documents file goes: refused before the fit
    (out_dir / "t.documents.csv").mkdir()
    assert_one_line_error(*run(capsys, "--input", str(folder), "-k", "3",
                               "--output", str(out_dir / "t.csv")),
                          "t.documents.csv", "is a folder")
    assert sorted(p.name for p in out_dir.iterdir()) == ["t.documents.csv"]
    # the same folder made while the run works: no file is renamed, none is left
    (out_dir / "t.documents.csv").rmdir()
    real = cli._documents_csv

    def made_meanwhile(records, n_components):
        (out_dir / "t.documents.csv").mkdir()
        return real(records, n_components)

    monkeypatch.setattr(cli, "_documents_csv", made_meanwhile)
    assert_one_line_error(*run(capsys, "--input", str(folder), "-k", "3",
                               "--output", str(out_dir / "t.csv")),
                          "t.documents.csv", "is a folder")
    assert sorted(p.name for p in out_dir.iterdir()) == ["t.documents.csv"]


def test_two_outputs_naming_one_file_are_refused(capsys, tmp_path):
    folder = write_folder(tmp_path / "docs", themed_documents()[0])
    code, out, err = run(capsys, "--input", str(folder), "-k", "3",
                         "--output", str(tmp_path / "t.csv"),
                         "--save", str(tmp_path / "t.documents.csv"))
    assert code == 2 and "name the same file" in err and "--save" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs"]


def test_interrupted_write_leaves_no_partial_file(capsys, tmp_path, monkeypatch):
    folder = write_folder(tmp_path / "docs", themed_documents()[0])

    def interrupted(records, n_components):
        def write(path):
            Path(path).write_text("document,so")  # a partial file, then Ctrl-C
            raise KeyboardInterrupt
        return write

    monkeypatch.setattr(cli, "_documents_csv", interrupted)
    code, out, err = run(capsys, "--input", str(folder), "-k", "3",
                         "--output", str(tmp_path / "x.csv"))
    assert code == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs"]


def test_undecodable_file_name_in_a_folder(capsys, tmp_path):
    if sys.platform == "darwin":
        pytest.skip("macOS file systems refuse undecodable names")
    folder = write_folder(tmp_path / "docs", themed_documents()[0])
    name = os.fsencode(folder) + b"/caf\xe9.txt"
    with open(name, "wb") as f:
        f.write(b"rocket orbit planet comet")
    out = tmp_path / "x.json"
    code, stdout, err = run(capsys, "--input", str(folder), "-k", "3", "--output", str(out))
    assert code == 0, err
    result = json.loads(out.read_text(encoding="utf-8"))
    assert "caf\\xe9.txt" in [d["source"] for d in result["documents"]]
    code, stdout, err = run(capsys, "--input", str(folder), "-k", "3",
                            "--output", str(tmp_path / "x.csv"))
    assert code == 0, err


def test_numbering_is_one_based_everywhere(capsys, tmp_path):
    path = lines_file(tmp_path / "texts.txt", [""] + themed_documents()[0])
    code, out, err = run(capsys, "--input", str(path), "-k", "3",
                         "--output", str(tmp_path / "x.csv"))
    assert code == 0, err
    with open(tmp_path / "x.documents.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["document"] == "1" and rows[0]["source"] == f"{path}:2"
    assert {r["dominant_topic"] for r in rows} == {"1", "2", "3"}
    assert list(rows[0]) == ["document", "source", "dominant_topic", "weight",
                             "topic_1", "topic_2", "topic_3"]
    help_text = subprocess.run([sys.executable, "-m", "sklearn_nmfx", "topics", "--help"],
                               capture_output=True, text=True, timeout=300,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert "numbered from 1" in help_text and "STOP included" in help_text


# -- save and apply -----------------------------------------------------------------
@pytest.mark.parametrize("model", ["munmf", "svd"])
def test_save_and_transform_round_trip(capsys, tmp_path, model):
    path = lines_file(tmp_path / "texts.txt")
    saved = tmp_path / "model.joblib"
    code, out, err = run(capsys, "--input", str(path), "-k", "3", "--model", model,
                         "--save", str(saved), "--output", str(tmp_path / "fit.csv"))
    assert code == 0, err
    assert f"wrote {saved}" in err
    code, out, err = run(capsys, "transform", "--model", str(saved), "--input", str(path),
                         "--output", str(tmp_path / "mix.csv"))
    assert code == 0, err
    fitted = (tmp_path / "fit.documents.csv").read_text(encoding="utf-8")
    applied = (tmp_path / "mix.csv").read_text(encoding="utf-8")
    assert applied == fitted  # the same topic mixes, digit for digit
    rows = list(csv.DictReader(applied.splitlines()))
    mix = np.array([[float(r[f"topic_{k}"]) for k in (1, 2, 3)] for r in rows])
    assert mix.shape == (36, 3) and np.any(mix != 0)
    # without --output: CSV on standard output; JSON output too
    code, out, err = run(capsys, "transform", "--model", str(saved), "--input", str(path))
    assert code == 0, err
    assert out.replace("\r\n", "\n") == applied.replace("\r\n", "\n")
    code, out, err = run(capsys, "transform", "--model", str(saved), "--input", str(path),
                         "--output", str(tmp_path / "mix.json"))
    documents = json.loads((tmp_path / "mix.json").read_text())["documents"]
    np.testing.assert_array_equal([d["topics"] for d in documents], mix)


def test_transform_errors(capsys, tmp_path):
    path = lines_file(tmp_path / "texts.txt")
    assert_one_line_error(*run(capsys, "transform", "--model", str(tmp_path / "none.joblib"),
                               "--input", str(path)), "no such file")
    junk = tmp_path / "junk.joblib"
    junk.write_bytes(b"not a pickle")
    assert_one_line_error(*run(capsys, "transform", "--model", str(junk),
                               "--input", str(path)), "not a model saved by")
    code, out, err = run(capsys, "transform", "--input", str(path))
    assert code == 2 and "--model" in err
    # a file of the right kind whose content is not what topics --save writes
    import joblib

    from sklearn_nmfx.cli import MODEL_FILE_KIND
    for content in ({"kind": MODEL_FILE_KIND}, {"kind": MODEL_FILE_KIND, "pipeline": None,
                                                 "model": "MUNMF", "n_components": 3}):
        forged = tmp_path / "forged.joblib"
        joblib.dump(content, forged)
        assert_one_line_error(*run(capsys, "transform", "--model", str(forged),
                                   "--input", str(path)), "not a model saved by", "malformed")


def test_outputs_never_write_over_the_inputs(capsys, tmp_path):
    folder = write_folder(tmp_path / "docs", themed_documents(n_per_theme=10)[0])
    corpus = tmp_path / "c.csv"
    corpus.write_text("text\n" + "".join(f"rocket orbit comet {i}\n" for i in range(12)))
    before = corpus.read_bytes()
    for option in ("--output", "--save"):
        code, out, err = run(capsys, "--input", str(corpus), "-k", "2", option, str(corpus))
        assert code == 2 and "--input and " + option in err and "write over" in err
        assert corpus.read_bytes() == before
    saved = tmp_path / "m.csv"  # --save takes any name
    code, out, err = run(capsys, "--input", str(folder), "-k", "2", "--save", str(saved))
    assert code == 0, err
    model_bytes = saved.read_bytes()
    for option, target in (("--input", corpus), ("--model", saved)):
        code, out, err = run(capsys, "transform", "--model", str(saved), "--input",
                             str(corpus), "--output", str(target))
        assert code == 2 and f"{option} and --output" in err
    assert corpus.read_bytes() == before and saved.read_bytes() == model_bytes


# -- Ctrl-C while the command starts ------------------------------------------------
def test_ctrl_c_during_start_up_is_interrupted_without_traceback(monkeypatch, capsys):
    import builtins

    sys.path.insert(0, str(ROOT))
    try:
        import sklearn_nmfx_launcher
    finally:
        sys.path.remove(str(ROOT))
    real_import = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name == "sklearn_nmfx.cli":  # Ctrl-C while NumPy, SciPy, scikit-learn load
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sklearn_nmfx.cli")
    monkeypatch.setattr(builtins, "__import__", interrupted)
    assert sklearn_nmfx_launcher.main() == 130
    out, err = capsys.readouterr()
    assert err == "sklearn-nmfx: interrupted\n" and "Traceback" not in err


def test_ctrl_c_during_start_up_subprocess():
    import time

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Python reads SIGINT as KeyboardInterrupt once its handler is installed; the
    # process is interrupted while the package (NumPy, SciPy, scikit-learn) imports
    code = ("import signal, sys, os, threading\n"
            "threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
            "import time; import sklearn_nmfx_launcher as l\n"
            "sys.exit(l.main())\n")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, "topics", "--help"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert time.perf_counter() - start < 300
    if done.returncode == 0:  # the imports were faster than the timer: nothing to check
        pytest.skip("start-up ended before the interrupt")
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "sklearn-nmfx: interrupted"
    assert "Traceback" not in done.stderr
