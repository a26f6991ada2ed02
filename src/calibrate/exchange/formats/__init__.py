"""File formats that tasks come in from and go out to.

A format is registered here by name with the module that reads it and the
module that writes it (either may be missing), so that ``import`` and
``export`` find them without importing every reader up front, and so that a
new format (the team summary of a later issue) is one more :func:`register`.

Readers turn a file into a stream of :class:`RawRow`: for each task, the raw
values of the fields in :data:`FIELDS` (text as found, numbers from JSON, or
values a reader already converted, such as :class:`Hours`). The importer does
the rest (parsing, checking, storing), the same way for every format.

This module also opens files: compressed ones (xz, gzip, bz2) transparently,
text in a named encoding, with a clear error for binary data, text that is not
in the expected encoding, and absurdly long lines.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from calibrate.errors import InputError

#: The fields a reader can fill, in the order the summary shows them.
FIELDS = (
    "key",
    "uid",
    "title",
    "estimate",
    "actual",
    "person",
    "team",
    "project",
    "tags",
    "created",
    "started",
    "done",
    "due",
    "low",
    "high",
    "confidence",
    "promise",
    "status",
    "notes",
    "source",
    "updated",
)

#: Cells that mean "no value" in every format.
MISSING = frozenset({"", "NA", "N/A", "\\N", "null", "NULL", "Null", "None", "NaN", "nan"})

#: What trackers call each of calibrate's statuses (lower case, single spaces).
#: A word not listed leaves the status to the row's actual and dates.
_STATUS_NAMES = {
    "open": """open, to do, todo, new, pending, waiting, backlog, reopened,
               selected for development, ready, planned, estimated""",
    "started": """started, in progress, doing, active, in review, review,
                  in development, testing, in testing""",
    "done": """done, closed, resolved, finished, completed, complete, fixed,
               released, delivered, accepted""",
    "dropped": """dropped, cancelled, canceled, deleted, won't do, wont do,
                  won't fix, wont fix, wontfix, rejected, abandoned, invalid,
                  duplicate, obsolete, cannot reproduce, not a bug""",
}
STATUS_WORDS: dict[str, str] = {
    word.strip(): status for status, words in _STATUS_NAMES.items() for word in words.split(",")
}


def status_category(text: str | None) -> str | None:
    """``In Progress`` -> ``started``; ``None`` for words calibrate does not know."""
    if not text:
        return None
    word = " ".join(str(text).replace("_", " ").replace("-", " ").lower().split())
    return STATUS_WORDS.get(word)


#: Longest line (and so longest field) a text reader accepts, in characters.
MAX_LINE_CHARS = 4 * 1024 * 1024
#: The most a compressed file may hold once decompressed (a 92 KB ``.xz`` can
#: hold gigabytes): refused past it, after reading no more than that.
MAX_DECOMPRESSED_BYTES = 32 * 1024 * 1024
#: Files smaller than this are too small for a progress bar to help.
PROGRESS_MIN_BYTES = 256 * 1024


class Hours(float):
    """A duration a reader already converted to hours: no ``--unit`` applies."""


@dataclass
class RawRow:
    """One task as read: its first line in the file and its fields' raw values.

    ``content`` is the row's full text when it has no key (a uid for rows
    imported before keyless rows were keyed by their fields). ``record``: a
    line of a calibrate export that carries its stamps (a task, interval,
    re-estimate, alias, opt-out or tombstone), joined as it is rather than
    read as a row (:mod:`calibrate.exchange.validate`).
    """

    line: int
    values: dict[str, Any]
    content: str | None = None
    error: str | None = None  # a reader's reason the row is bad
    record: dict[str, Any] | None = None


class RowError(Exception):
    """A row that cannot be imported; the importer adds ``line N:``."""


@dataclass
class ReadOptions:
    """What the user said about the file (all optional but the path)."""

    path: Path
    format_name: str = ""
    name: str = ""  # how to call the file in messages
    encoding: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    unit: str | None = None
    join: Path | None = None
    prefer: str | None = None
    day_hours: float = 8.0
    delimiter: str | None = None  # a CSV file's separator; None: sniffed from its header


class RowStream:
    """What a reader returns: iterate it for rows.

    ``columns`` says which column (or JSON key) fed each field, for the
    summary; ``present`` lists the fields the file provides at all (an import
    never overwrites a field the file does not have); ``skipped`` counts rows
    a reader left out, by reason, and ``notes`` what it noticed in rows it kept.
    """

    format_name: str = ""
    source: str = "import"
    unit: str = "h"

    def __init__(self) -> None:
        self.columns: dict[str, str] = {}
        self.present: set[str] = set()
        self.skipped: Counter[str] = Counter()
        self.notes: Counter[str] = Counter()
        self.size: int = 0

    def __iter__(self) -> Iterator[RawRow]:  # pragma: no cover - abstract
        raise NotImplementedError

    def position(self) -> int:
        """Bytes of the file read so far, for a progress bar."""
        return 0

    def date_values(self) -> Iterator[str]:
        """Every date cell of the file, read again from the start: evidence for
        whether numeric dates are day-first. Empty when the format has none."""
        return iter(())

    def close(self) -> None:
        pass


# --- the registry ------------------------------------------------------------


@dataclass(frozen=True)
class Format:
    """A file format: its readers and writers live in ``module``.

    ``module`` defines ``open_reader(options) -> RowStream`` when ``reads``
    and a ``writer(handle, rows, columns) -> int`` when ``writes``.
    """

    name: str
    module: str
    help: str
    reads: bool = True
    writes: bool = False
    suffixes: tuple[str, ...] = ()
    writer: str = "write_tasks"

    def load(self):
        return import_module(self.module)

    def write(self, handle, rows, columns: list[str]) -> int:
        return getattr(self.load(), self.writer)(handle, rows, columns)


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    FORMATS[fmt.name] = fmt
    return fmt


CSV_MODULE = "calibrate.exchange.formats.csvfile"
JSON_MODULE = "calibrate.exchange.formats.jsonl"
for _format in (
    Format("csv", CSV_MODULE, "comma-separated, a header row", writes=True, suffixes=(".csv",)),
    Format("tsv", CSV_MODULE, "tab-separated, a header row", suffixes=(".tsv", ".tab")),
    Format("jira", "calibrate.exchange.formats.jira", "Jira's 'Export to CSV'"),
    Format("taskwarrior", "calibrate.exchange.formats.taskwarrior", "'task export' JSON"),
    # Timewarrior's intervals are time, not tasks: 'calibrate import' adds them to the
    # tasks their tags name (exchange.intervals); its open_reader only explains that.
    Format(
        "timewarrior",
        "calibrate.exchange.formats.timewarrior",
        "'timew export' JSON: time tracked on tasks tagged cal:ID or with their key",
    ),
    Format(
        "jsonl",
        JSON_MODULE,
        "JSON Lines, one task a line",
        writes=True,
        suffixes=(".jsonl", ".ndjson"),
    ),
    Format(
        "json",
        JSON_MODULE,
        "a JSON array of tasks",
        writes=True,
        suffixes=(".json",),
        writer="write_array",
    ),
):
    register(_format)
#: A team summary holds figures, not tasks: 'calibrate import' stores it for
#: 'rank' (calibrate.exchange.summary_file), whose open_reader only explains that to others.
register(
    Format("summary", "calibrate.exchange.summary_file", "a team summary from 'export --summary'")
)


def import_formats() -> list[str]:
    return [name for name, fmt in FORMATS.items() if fmt.reads]


def export_formats() -> list[str]:
    return [name for name, fmt in FORMATS.items() if fmt.writes]


def get_format(name: str, *, reading: bool = True) -> Format:
    fmt = FORMATS.get(name.lower())
    if fmt is None or not (fmt.reads if reading else fmt.writes):
        known = import_formats() if reading else export_formats()
        verb = "import" if reading else "export"
        raise InputError(f"cannot {verb} format {name!r}: use {', '.join(known)}")
    return fmt


def open_reader(options: ReadOptions) -> RowStream:
    """The reader of ``options.format_name`` opened on ``options.path``."""
    return get_format(options.format_name).load().open_reader(options)


# --- guessing the format ---------------------------------------------------

COMPRESSED_SUFFIXES = (".xz", ".gz", ".bz2")
#: A ``timew export``: intervals with Timewarrior's moments, none of a task's fields.
_TIMEW_HEAD = re.compile(r'"start"\s*:\s*"\d{8}T\d{6}Z"')
_TASK_KEYS = ("description", "estimate", "title", "uuid")
_JIRA_HEADER = re.compile(r"(^|[,;\t])\"?issue (key|id)\"?([,;\t]|$)", re.IGNORECASE | re.MULTILINE)


def guess_format(path: Path, encoding: str | None = None) -> str:
    """The format of ``path``, from its name and its first bytes."""
    name = path.name.lower()
    for suffix in COMPRESSED_SUFFIXES:
        name = name.removesuffix(suffix)
    head = read_head(path, encoding)
    stripped = head.lstrip()
    if name.endswith((".json", ".jsonl", ".ndjson")) or stripped[:1] in ("[", "{"):
        if '"uuid"' in head and '"description"' in head:
            return "taskwarrior"
        if '"calibrate-summary"' in head:
            return "summary"
        if _TIMEW_HEAD.search(head) and not any(f'"{key}"' in head for key in _TASK_KEYS):
            return "timewarrior"
        return "json" if stripped.startswith("[") else "jsonl"
    first_line = head.splitlines()[0] if head else ""
    if name.endswith((".tsv", ".tab")) or ("\t" in first_line and "," not in first_line):
        return "tsv"
    if _JIRA_HEADER.search(first_line):
        return "jira"
    return "csv"


def read_head(path: Path, encoding: str | None = None, size: int = 8192) -> str:
    """The first characters of the file's text (decompressed), for guessing."""
    raw, stream = open_binary(path)
    try:
        data = stream.read(size)
    finally:
        stream.close()
        raw.close()
    check_not_binary(data, path.name, encoding)
    return data.decode(encoding or "utf-8-sig", errors="replace")


# --- opening files -----------------------------------------------------------

_MAGIC = {b"\xfd7zXZ\x00": "xz", b"\x1f\x8b": "gz", b"BZh": "bz2"}


def open_binary(path: Path) -> tuple[BinaryIO, BinaryIO]:
    """The raw file (for progress: its position is bytes read) and a
    decompressed stream of it; xz, gzip and bz2 are recognised by content."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - returned to the caller
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a file") from None
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    head = raw.read(6)
    raw.seek(0)
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            stream: io.BufferedIOBase
            if kind == "xz":
                import lzma

                stream = lzma.open(raw)  # noqa: SIM115 - closed by _Decompressed
            elif kind == "gz":
                import gzip

                stream = gzip.open(raw)  # noqa: SIM115 - closed by _Decompressed
            else:
                import bz2

                stream = bz2.open(raw)  # noqa: SIM115 - closed by _Decompressed
            return raw, io.BufferedReader(_Decompressed(stream, path.name, kind))
    return raw, raw


class _Decompressed(io.RawIOBase):
    """A decompressing stream whose failures (a damaged or cut-off file, which
    each library reports with its own exception) are one clear InputError."""

    def __init__(self, stream: io.BufferedIOBase, name: str, kind: str):
        super().__init__()
        self._stream, self._name, self._kind = stream, name, kind
        self._total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            read = self._stream.readinto(buffer)
        except Exception as error:  # OSError, EOFError, lzma.LZMAError, zlib.error...
            raise InputError(
                f"{self._name} is a damaged or incomplete {self._kind} file ({error})"
            ) from None
        self._total += read
        if self._total > MAX_DECOMPRESSED_BYTES:
            raise InputError(
                f"{self._name} holds over {MAX_DECOMPRESSED_BYTES // 2**20} MB once "
                f"decompressed: decompress it yourself and import the file, or split it"
            )
        return read

    def close(self) -> None:
        self._stream.close()
        super().close()


def check_not_binary(head: bytes, name: str, encoding: str | None) -> None:
    """Refuse binary data (and name UTF-16 when its byte-order mark shows)."""
    if encoding and encoding.lower().replace("-", "").startswith(("utf16", "utf32")):
        return
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{name} is UTF-16 text: name it with --encoding utf-16")
    if b"\x00" in head:
        raise InputError(f"{name} is binary data, not a text file of tasks")


class TextSource:
    """A file's text, line by line, with a clear error for the wrong encoding
    and for lines longer than :data:`MAX_LINE_CHARS` (so that a 100 MB field is
    refused after reading 4 MB of it, not held in memory)."""

    _BAD_CHAR = re.compile("[\udc80-\udcff]")

    def __init__(self, path: Path, name: str, encoding: str | None = None):
        self.path = path
        self.name = name
        self.encoding = encoding
        self.raw, stream = open_binary(path)
        try:
            self.size = path.stat().st_size
            self.is_compressed = stream is not self.raw
            head = stream.peek(8192)[:8192] if hasattr(stream, "peek") else b""
            check_not_binary(head, name, encoding)
            try:
                self.text: TextIO = io.TextIOWrapper(
                    stream,
                    encoding=encoding or "utf-8-sig",
                    errors="surrogateescape",
                    newline="",
                )
            except LookupError:
                raise InputError(f"unknown encoding {encoding!r}") from None
        except BaseException:
            self.raw.close()
            raise
        self.line_number = 0

    def position(self) -> int:
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0

    def lines(self) -> Iterator[str]:
        readline = self.text.readline
        limit = MAX_LINE_CHARS
        bad_char = self._BAD_CHAR
        while True:
            line = readline(limit)
            if not line:
                return
            self.line_number += 1
            if len(line) >= limit and line[-1] not in "\r\n":
                raise InputError(
                    f"line {self.line_number}: longer than {limit:,} characters; "
                    f"{self.name} does not look like a file of tasks"
                )
            if not line.isascii():
                found = bad_char.search(line)
                if found:
                    raise InputError(self._decode_error(found.group()))
            yield line

    def _decode_error(self, char: str) -> str:
        byte = ord(char) - 0xDC00
        where = f"line {self.line_number}: byte 0x{byte:02x}"
        if self.encoding:
            return f"{where} is not {self.encoding} text; check --encoding"
        return (
            f"{where} is not UTF-8: {self.name} is in another encoding; "
            "name it, e.g. --encoding cp1252"
        )

    def close(self) -> None:
        self.text.close()
        self.raw.close()


def file_source_name(path: Path) -> str:
    """A default source name from a file name: ``Sip-task-info.csv.xz`` ->
    ``sip-task-info``."""
    name = path.name.lower()
    for suffix in COMPRESSED_SUFFIXES:
        name = name.removesuffix(suffix)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    slug = re.sub(r"[^a-z0-9_.-]+", "-", stem).strip("-")
    return slug or "import"


def normalise_name(name: str) -> str:
    """A column name reduced for matching: ``Due date`` -> ``duedate``."""
    return re.sub(r"[^a-z0-9]", "", name.strip().lstrip("\ufeff").lower())


def guess_columns(
    names: list[str],
    mapping: dict[str, str],
    synonyms: dict[str, tuple[str, ...]],
    *,
    file_name: str,
) -> dict[str, list[int]]:
    """Which column feeds each field: ``mapping`` (FIELD -> COLUMN) first, then
    the first column whose name is a known synonym of the field.

    Returns field -> column indexes (several only for tags, when a header is
    repeated, as Jira does for labels). Summed Jira columns (``Σ ...``) never
    match. A mapped column that does not exist is an error naming the columns.
    """
    chosen: dict[str, list[int]] = {}
    used: set[int] = set()
    normalised = [normalise_name(n) for n in names]
    for field_name, column in mapping.items():
        index = _find_column(names, normalised, column)
        if index is None:
            shown = ", ".join(n for n in names if n) or "(none)"
            raise InputError(
                f"--map {field_name}={column}: {file_name} has no column {column!r} "
                f"(its columns: {_clip(shown)})"
            )
        chosen[field_name] = [index]
        used.add(index)
    for field_name, words in synonyms.items():
        if field_name in chosen:
            continue
        for word in words:
            hits = [
                i
                for i, n in enumerate(normalised)
                if n == word and i not in used and not names[i].lstrip().startswith("Σ")
            ]
            if hits:
                chosen[field_name] = hits if field_name == "tags" else hits[:1]
                used.update(chosen[field_name])
                break
    return chosen


class KeyFields:
    """Field -> key of JSON objects with given keys, by :func:`guess_columns`
    (``mapping`` first, then ``synonyms``), cached: a file's objects repeat
    their keys. The first key found for a field is the one the summary shows
    (``columns``, a reader's :attr:`RowStream.columns`)."""

    def __init__(
        self,
        columns: dict[str, str],
        mapping: dict[str, str],
        synonyms: dict[str, tuple[str, ...]],
        file_name: str,
    ):
        self.columns, self.mapping, self.synonyms = columns, mapping, synonyms
        self.file_name = file_name
        self._found: dict[tuple[str, ...], dict[str, str]] = {}

    def __call__(self, keys: tuple[str, ...]) -> dict[str, str]:
        found = self._found.get(keys)
        if found is None:
            indexes = guess_columns(
                list(keys), self.mapping, self.synonyms, file_name=self.file_name
            )
            found = {f: keys[i[0]] for f, i in indexes.items()}
            self._found[keys] = found
            for field_name, key in found.items():
                self.columns.setdefault(field_name, key)
        return found


def _find_column(names: list[str], normalised: list[str], column: str) -> int | None:
    for i, name in enumerate(names):
        if name == column:
            return i
    lowered = column.strip().lower()
    for i, name in enumerate(names):
        if name.strip().lower() == lowered:
            return i
    wanted = normalise_name(column)
    for i, name in enumerate(normalised):
        if wanted and name == wanted:
            return i
    return None


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_mapping(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["estimate=HoursEstimate", ...]`` -> ``{"estimate": "HoursEstimate"}``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        field_name, sep, column = pair.partition("=")
        field_name = field_name.strip().lower()
        if not sep or not column.strip():
            raise InputError(f"--map {pair!r}: use FIELD=COLUMN, e.g. estimate=HoursEstimate")
        if field_name not in FIELDS:
            raise InputError(
                f"--map {pair!r}: unknown field {field_name!r}; use one of {', '.join(FIELDS)}"
            )
        if field_name in mapping:
            raise InputError(f"--map {field_name}=... is given twice")
        mapping[field_name] = column.strip()
    return mapping
