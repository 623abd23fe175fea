"""Reading untrusted text corpora for the command line, in bounded memory.

Every reader streams its input and keeps only the non-empty documents, so a file
of millions of empty rows costs no memory; a budget of characters read
(``max_chars``) and of documents kept (``max_documents``) bounds the rest, and a
line longer than the remaining budget is never read whole. Text must be UTF-8
(with or without a byte-order mark); anything else, binary files included, is
rejected with a message naming the file.

The format follows the file name's suffix (``.csv``, ``.jsonl``/``.ndjson``,
``.txt`` or no suffix: one document per line), or ``format``; a ``.gz``, ``.bz2``
or ``.xz`` suffix is decompressed on the fly (the budget counts the decompressed
characters), and the suffix before it gives the format.

Errors are :class:`CorpusError` with a one-line message.
"""

import bz2
import csv
import gzip
import io
import json
import lzma
import os
import sys
from pathlib import Path

__all__ = ["CorpusError", "Document", "read_corpus", "INPUT_FORMATS"]

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "lines", "": "lines"}
INPUT_FORMATS = ("auto", "csv", "jsonl", "lines")
COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
FOLDER_SUFFIXES = (".txt", ".txt.gz", ".txt.bz2", ".txt.xz")


def printable(name):
    """A file name as text that can be written anywhere (undecodable bytes as \\xNN)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class CorpusError(ValueError):
    """An input that cannot be read as a corpus (the message is one line)."""


class Document:
    """A document's text and where it came from (``source``, for the outputs)."""

    __slots__ = ("text", "source")

    def __init__(self, text, source):
        self.text = text
        self.source = source


class _Budget:
    """Counts characters read and documents kept; raises once over either cap."""

    def __init__(self, max_chars, max_documents):
        self.max_chars = max_chars
        self.max_documents = max_documents
        self.chars = 0
        self.documents = []

    @property
    def remaining(self):
        return self.max_chars - self.chars

    def spend(self, text, name):
        """Count ``text`` read from ``name``; reject binary data and overruns."""
        self.chars += len(text)
        if self.chars > self.max_chars:
            raise CorpusError(
                f"{name}: the input is larger than {self.max_chars} characters "
                "(raise --max-chars to read more)"
            )
        if "\x00" in text:
            raise CorpusError(f"{name}: looks like a binary file (it contains NUL bytes)")
        return text

    def keep(self, text, source):
        text = text.strip()
        if not text:
            return
        if len(self.documents) >= self.max_documents:
            raise CorpusError(
                f"{source}: more than {self.max_documents} non-empty documents "
                "(raise --max-documents to read more)"
            )
        self.documents.append(Document(text, source))


def _lines(stream, name, budget):
    """Lines of a text stream, none read beyond the character budget."""
    while True:
        line = stream.readline(budget.remaining + 1)
        if not line:
            return
        yield budget.spend(line, name)


def _not_utf8(name, exc):
    byte = exc.object[exc.start:exc.start + 1].hex()
    return CorpusError(
        f"{name}: not UTF-8 text (byte 0x{byte} cannot be decoded): binary files "
        "are not read, and text in another encoding must be converted to UTF-8 first"
    )


def _compression(path):
    suffix = path.suffix.lower()
    return COMPRESSIONS.get(suffix), (Path(path.stem).suffix.lower() if suffix in COMPRESSIONS
                                      else suffix)


def _open_text(path):
    """A UTF-8 text stream (a leading byte-order mark is dropped), newlines kept;
    compressed files are decompressed as they are read."""
    opener, _ = _compression(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "is a directory")
        raw = (opener or open)(path, "rb")
    except OSError as exc:
        raise CorpusError(f"cannot read {printable(str(path))}: {exc.strerror or exc}") from exc
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")


def _read_lines(stream, name, budget):
    for number, line in enumerate(_lines(stream, name, budget), start=1):
        budget.keep(line, f"{name}:{number}")


def _read_jsonl(stream, name, budget, text_field):
    for number, line in enumerate(_lines(stream, name, budget), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{name} line {number}: not valid JSON ({exc.msg})") from exc
        except RecursionError as exc:
            raise CorpusError(f"{name} line {number}: the JSON is nested too deeply to be "
                              "read (thousands of brackets)") from exc
        if not isinstance(record, dict) or text_field not in record:
            raise CorpusError(
                f"{name} line {number}: no {text_field!r} field (choose the text "
                "field with --text-field)"
            )
        text = record[text_field]
        if text is None:
            continue
        if not isinstance(text, str):
            raise CorpusError(
                f"{name} line {number}: the {text_field!r} field is a "
                f"{type(text).__name__}, not a string"
            )
        budget.keep(text, f"{name}:{number}")


def _read_csv(stream, name, budget, text_column):
    # The csv module's field limit is raised to the budget: memory stays bounded by
    # _lines, and a long document is not an error of its own.
    csv.field_size_limit(max(budget.max_chars, 1))
    reader = csv.reader(_lines(stream, name, budget))
    try:
        header = next(reader, None)
        if header is None:
            raise CorpusError(f"{name}: empty CSV file (no header row)")
        header = [column.strip() for column in header]
        if text_column not in header:
            shown = ", ".join(repr(c) for c in header[:10])
            more = ", ..." if len(header) > 10 else ""
            raise CorpusError(
                f"{name}: no column {text_column!r} (columns: {shown}{more}; choose "
                "one with --text-column)"
            )
        index = header.index(text_column)
        for row in reader:
            if index < len(row):
                budget.keep(row[index], f"{name}:{reader.line_num}")
    except csv.Error as exc:
        raise CorpusError(f"{name} line {reader.line_num}: malformed CSV ({exc})") from exc


def _read_folder(folder, budget):
    try:
        with os.scandir(folder):  # rglob would skip an unreadable folder silently
            pass
        paths = sorted(p for p in folder.rglob("*")
                       if p.name.lower().endswith(FOLDER_SUFFIXES) and p.is_file())
    except OSError as exc:
        raise CorpusError(f"cannot read the folder {folder}: {exc.strerror or exc}") from exc
    if not paths:
        raise CorpusError(f"no .txt files in the folder {folder}")
    for path in paths:
        name = printable(str(path))
        with _open_text(path) as stream:
            try:
                text = budget.spend(stream.read(budget.remaining + 1), name)
            except UnicodeDecodeError as exc:
                raise _not_utf8(name, exc) from exc
            except (OSError, EOFError) as exc:
                raise _not_compressed(name, exc) from exc
            budget.keep(text, printable(str(path.relative_to(folder))))


def _not_compressed(name, exc):
    return CorpusError(f"{name}: cannot be decompressed ({exc or type(exc).__name__}): "
                       "a damaged or truncated file, or not the format its suffix says")


def _read_stream(kind, stream, name, budget, text_column, text_field):
    if kind == "csv":
        _read_csv(stream, name, budget, text_column)
    elif kind == "jsonl":
        _read_jsonl(stream, name, budget, text_field)
    else:
        _read_lines(stream, name, budget)


def _read_file(path, budget, text_column, text_field, format="auto"):
    name = printable(str(path))
    _, suffix = _compression(path)
    kind = FORMATS.get(suffix) if format == "auto" else format
    if kind is None:
        known = ", ".join(s for s in sorted(FORMATS) if s)
        raise CorpusError(
            f"{name}: unknown input format {suffix!r} (known: {known}, no suffix, each "
            "also as .gz, .bz2 or .xz; a folder of .txt files; or - for standard input): "
            "name the format with --format csv, jsonl or lines"
        )
    with _open_text(path) as stream:
        try:
            _read_stream(kind, stream, name, budget, text_column, text_field)
        except (OSError, EOFError) as exc:
            raise _not_compressed(name, exc) from exc


def _stdin_text():
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # already text (a StringIO in tests)
        return sys.stdin
    return io.TextIOWrapper(buffer, encoding="utf-8-sig", errors="strict", newline="")


def stdin_is_piped():
    """Whether standard input is a pipe or a file (``cat x | ...``, ``... < x``),
    not a terminal or ``/dev/null``."""
    import stat

    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):  # closed, or a pseudo-file
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


def read_corpus(path, *, text_column="text", text_field="text", format="auto",
                max_chars=200_000_000, max_documents=1_000_000):
    """The non-empty documents of ``path``, as a list of :class:`Document`.

    ``path`` is a folder (each ``.txt`` file under it is a document), a ``.csv``
    file (column ``text_column``), a ``.jsonl`` file (field ``text_field`` of each
    record), a ``.txt`` or suffix-less file or ``"-"`` for standard input (one
    document per line); ``format`` ('csv', 'jsonl', 'lines') overrides the
    suffix. Compressed files (``.gz``, ``.bz2``, ``.xz``) are read through.
    """
    if format not in INPUT_FORMATS:
        raise CorpusError(f"unknown format {format!r} (known: {', '.join(INPUT_FORMATS)})")
    budget = _Budget(max_chars, max_documents)
    name = "standard input" if path == "-" else printable(str(path))
    try:
        if path == "-":
            kind = "lines" if format == "auto" else format
            _read_stream(kind, _stdin_text(), name, budget, text_column, text_field)
        else:
            path = Path(path)
            if not os.path.lexists(path):
                raise CorpusError(f"{name}: no such file or folder")
            if path.is_dir():
                _read_folder(path, budget)
            else:
                _read_file(path, budget, text_column, text_field, format)
    except UnicodeDecodeError as exc:  # a folder's reader names the file itself
        raise _not_utf8(name, exc) from exc
    if not budget.documents:
        raise CorpusError(f"{name}: no documents (every document is empty)")
    return budget.documents
