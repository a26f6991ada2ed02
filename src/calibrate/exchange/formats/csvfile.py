"""CSV and TSV files: reading any tracker's table, writing calibrate's.

Reading streams the file with the standard library's ``csv`` module (memory
does not grow with the file). The header row names the columns; each field of
a task is fed by the column ``--map FIELD=COLUMN`` names, else by the first
column with a common name for it (:data:`SYNONYMS`, matched ignoring case,
spaces and punctuation).

Two options fit files that are not one row per task:

- ``--join FILE`` brings in the columns of a second CSV, matched on the key
  column (SiP keeps its dates in ``est-act-dates.csv``). That file is held in
  memory, one entry per key.
- ``--prefer COLUMN`` keeps, of the rows that share a key, the one with the
  largest value in COLUMN (the first on a tie): SiP has a row per task and
  developer, and a task belongs to the developer who logged most of its hours.
  This reads the file twice and holds one entry per key.

The separator is sniffed from the header row (a comma, a semicolon as Excel
writes CSV where the comma is the decimal point, a tab or a bar) unless
``--delimiter`` names it; in a semicolon-separated file numbers use the
decimal comma (``1,5``, ``1.234,5``). A tags cell holds one tag or several,
separated by semicolons or commas (``ui;auth``, ``ui, auth``).

Writing neutralises cells a spreadsheet would run as formulas
(:func:`calibrate.output.csv_escape`), and marks text that would read as
"no value" (a title ``NA``) the same way; reading undoes both.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from calibrate.errors import InputError
from calibrate.exchange.formats import (
    MAX_LINE_CHARS,
    MISSING,
    RawRow,
    ReadOptions,
    RowStream,
    TextSource,
    file_source_name,
    guess_columns,
    normalise_name,
)
from calibrate.text import csv_escape, csv_unescape

#: Common column names for each field, normalised (lower case, letters and
#: digits only), in order of preference.
SYNONYMS: dict[str, tuple[str, ...]] = {
    field_name: tuple(names.split())
    for field_name, names in {
        "uid": "uid",
        "key": """key issuekey id taskid tasknumber tasknr number issueid ticket ticketid
                  uuid ref reference""",
        "title": "title summary name taskname task subject description",
        "estimate": """estimate estimateh estimatehours estimatedhours hoursestimate
                       estimatedeffort effortestimate originalestimate estimatedtime est
                       plannedhours planhours planned plan""",
        "actual": """actual actualh actualhours hoursactual actualeffort actualtime timespent
                     spent hoursspent effort timelogged logged""",
        "person": "person assignee assignedto owner developer user who author",
        "team": "team teamname squad",
        "project": "project projectname projectkey",
        "tags": "tags tag labels label",
        "created": "created createdat createdon createddate creationdate opened entry",
        "started": "started startedat startedon startdate start",
        "done": """done doneat resolved resolvedat resolutiondate completed completedat
                   completedon finished finishedat closed closedat enddate end""",
        "due": "due duedate dueat deadline",
        "low": "low lowh lowestimate optimistic best bestcase",
        "high": "high highh highestimate pessimistic worst worstcase",
        "confidence": "confidence confidencepct confidencepercent",
        "promise": "promise promiseh promised promisedhours commitment",
        "status": "status state",
        "notes": "notes note comments comment",
        "source": "source",
    }.items()
}

csv.field_size_limit(MAX_LINE_CHARS)

#: The separators a header is sniffed for, the first winning a tie.
DELIMITERS = (",", ";", "\t", "|")
#: What ``--delimiter`` reads besides a single character.
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
#: Fields whose numbers use the decimal comma in a semicolon-separated file.
NUMBER_FIELDS = ("estimate", "actual", "low", "high", "promise", "confidence")


def delimiter_from(text: str) -> str:
    """``--delimiter``: one character, or comma, semicolon, tab (``\\t``), pipe."""
    named = DELIMITER_NAMES.get(text.strip().lower(), text)
    if len(named) != 1 or named in "\"'\r\n" or named.isalnum():
        raise InputError(f"--delimiter {text!r}: give one character such as ';' or ',', or tab")
    return named


def sniff_delimiter(header: str) -> str:
    """The separator of a header row: the candidate found most often outside
    quotes (a comma on a tie, or when none is found)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","


def _sniffed(lines: Iterator[str], given: str | None, default: str) -> tuple[str, Iterator[str]]:
    """(the file's separator, its lines from the start): ``given``, else
    sniffed from the first non-blank line (``default`` for a tab-separated
    format, which is not sniffed)."""
    if given is not None:
        return given, lines
    if default != ",":
        return default, lines
    seen: list[str] = []
    for line in lines:
        seen.append(line)
        if line.strip():
            break
    return sniff_delimiter(seen[-1] if seen else ""), itertools.chain(seen, lines)


def decimal_comma(cell: str) -> str:
    """A number written with the decimal comma as Python reads it:
    ``1,5`` -> ``1.5``, ``1.234,5`` -> ``1234.5``."""
    if "," not in cell:
        return cell
    return cell.replace(".", "").replace(",", ".")


class CsvStream(RowStream):
    """Rows of a CSV (or TSV) file, field values as the text in their cells."""

    format_name = "csv"
    delimiter = ","
    synonyms = SYNONYMS
    default_unit = "h"

    def __init__(self, options: ReadOptions):
        super().__init__()
        self.options = options
        self.name = options.name or options.path.name
        self.source = file_source_name(options.path)
        self.unit = options.unit or self.default_unit
        self._text = TextSource(options.path, self.name, options.encoding)
        self.size = self._text.size
        try:
            self.delimiter, lines = _sniffed(
                self._text.lines(), options.delimiter, type(self).delimiter
            )
            self._reader = csv.reader(lines, delimiter=self.delimiter)
            self.header = self._read_header(self._reader, self.name)
            self._join = _Join(options, self) if options.join else None
            names = self.header + (self._join.header if self._join else [])
            self.indexes = guess_columns(names, options.mapping, self.synonyms, file_name=self.name)
            self._check_columns(names)
            self.columns = {
                f: ", ".join(dict.fromkeys(names[i] for i in idx))
                for f, idx in self.indexes.items()
            }
            self.present = set(self.indexes)
            self.keyed = "key" in self.indexes or "uid" in self.indexes
            self._preferred = self._prefer_pass() if options.prefer else None
        except BaseException:
            self._text.close()
            raise

    # -- header and columns ---------------------------------------------------

    @staticmethod
    def _read_header(reader, name: str) -> list[str]:
        try:
            for row in reader:
                if any(cell.strip() for cell in row):
                    return [cell.strip() for cell in row]
        except csv.Error as error:
            raise InputError(f"{name}: not a readable CSV file ({error})") from None
        raise InputError(f"{name} is empty: no header row and no tasks")

    def _check_columns(self, names: list[str]) -> None:
        if "estimate" not in self.indexes:
            others = [d for d in DELIMITERS if d != self.delimiter and len(names) == 1]
            found = [d for d in others if d in names[0]]
            if found:
                shown = "tab" if found[0] == "\t" else found[0]
                raise InputError(
                    f"{self.name}: its header reads as one column ({_shown(names)}); if it "
                    f"is separated by {shown!r}, give --delimiter {shown!r}"
                )
            raise InputError(
                f"{self.name} has no estimate column (its columns: {_shown(names)}); "
                "name it with --map estimate=COLUMN"
            )
        if self.options.join and "key" not in self.indexes:
            raise InputError("--join needs a key column: name it with --map key=COLUMN")

    def _prefer_pass(self) -> dict[str, int]:
        """For --prefer: each key's chosen row (by its first line number)."""
        column = self.options.prefer or ""
        index = next((i for i, n in enumerate(self.header) if n == column), None)
        if index is None:
            lowered = normalise_name(column)
            index = next(
                (i for i, n in enumerate(self.header) if normalise_name(n) == lowered), None
            )
        if index is None:
            raise InputError(
                f"--prefer {column}: {self.name} has no such column "
                f"(its columns: {_shown(self.header)})"
            )
        if "key" not in self.indexes:
            raise InputError("--prefer needs a key column: name it with --map key=COLUMN")
        key_index = self.indexes["key"][0]
        best: dict[str, tuple[float, int]] = {}
        text = TextSource(self.options.path, self.name, self.options.encoding)
        line = 0  # the header's, should it fail
        try:
            reader = csv.reader(text.lines(), delimiter=self.delimiter)
            self._read_header(reader, self.name)
            line = reader.line_num
            for row in reader:
                start, line = line + 1, reader.line_num
                if len(row) <= max(index, key_index):
                    continue
                key = row[key_index].strip()
                try:
                    value = float(row[index])
                except ValueError:
                    value = float("-inf")
                if key not in best or value > best[key][0]:
                    best[key] = (value, start)
        except csv.Error as error:
            raise InputError(f"line {line + 1}: {error}") from None
        finally:
            text.close()
        return {key: start for key, (_, start) in best.items()}

    # -- rows -------------------------------------------------------------------

    def __iter__(self) -> Iterator[RawRow]:
        reader = self._reader
        indexes = list(self.indexes.items())
        width = len(self.header)
        tags_columns = self.indexes.get("tags", [])
        key_index = self.indexes["key"][0] if "key" in self.indexes else None
        join = self._join
        preferred = self._preferred
        keyed = self.keyed
        numbers = NUMBER_FIELDS if self.delimiter == ";" else ()
        line = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                if join is not None and join.missing:
                    self.notes[f"no match in {join.name} (--join)"] += join.missing
                return
            except csv.Error as error:
                raise InputError(f"line {line + 1}: {_csv_message(error)}") from None
            start, line = line + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                raise InputError(
                    f"line {start}: {len(row)} cells but the header has {width} columns"
                )
            if key_index is not None and (preferred is not None or join is not None):
                key = row[key_index].strip() if key_index < len(row) else ""
                if preferred is not None and preferred.get(key, start) != start:
                    self.skipped[
                        f"not the preferred row of a repeated key (--prefer {self.options.prefer})"
                    ] += 1
                    continue
                if join is not None:
                    row = row[:width] + [""] * (width - len(row)) + join.cells(key)
            values: dict[str, Any] = {}
            cells = len(row)
            for field_name, columns in indexes:
                if field_name == "tags":
                    continue
                index = columns[0]
                cell = row[index] if index < cells else ""
                if cell.strip() in MISSING:
                    values[field_name] = None
                elif field_name in numbers:
                    values[field_name] = decimal_comma(cell)
                else:  # as written: the importer strips what is not free text
                    values[field_name] = unescape(cell) if cell[0] == "'" else cell
            if tags_columns:
                values["tags"] = [  # several in a cell are split by store.tasks.clean_tags
                    unescape(row[i].strip())
                    for i in tags_columns
                    if i < cells and row[i].strip() not in MISSING
                ]
            identified = keyed and (values.get("key") is not None or values.get("uid") is not None)
            content = None if identified else "\x1f".join(row[:width])
            yield RawRow(start, values, content)

    def position(self) -> int:
        return self._text.position()

    def date_values(self) -> Iterator[str]:
        """The date cells of the whole file, read again from the start."""
        date_indexes = [
            self.indexes[f][0] for f in ("created", "started", "done", "due") if f in self.indexes
        ]
        if not date_indexes:
            return
        text = TextSource(self.options.path, self.name, self.options.encoding)
        try:
            reader = csv.reader(text.lines(), delimiter=self.delimiter)
            self._read_header(reader, self.name)
            width = len(self.header)
            join = self._join
            key_index = self.indexes["key"][0] if "key" in self.indexes else None
            for row in reader:
                if join is not None and key_index is not None and key_index < len(row):
                    joined = join.rows.get(row[key_index].strip(), join.blank)
                    row = row[:width] + [""] * (width - len(row)) + joined
                for index in date_indexes:
                    if index < len(row) and row[index].strip() not in MISSING:
                        yield row[index]
        except (csv.Error, InputError):
            return  # the main pass reports it, with its line
        finally:
            text.close()

    def close(self) -> None:
        self._text.close()


class TsvStream(CsvStream):
    format_name = "tsv"
    delimiter = "\t"


class _Join:
    """The second file of ``--join``: its rows by key, in memory."""

    def __init__(self, options: ReadOptions, main: CsvStream):
        path = options.join
        assert path is not None
        self.name = name = path.name
        text = TextSource(path, name, options.encoding)
        line = 0  # the header's, should it fail
        try:
            delimiter, lines = _sniffed(text.lines(), options.delimiter, type(main).delimiter)
            reader = csv.reader(lines, delimiter=delimiter)
            header = CsvStream._read_header(reader, name)
            key_column = _key_column_name(main, options)
            key_index = next(
                (
                    i
                    for i, n in enumerate(header)
                    if normalise_name(n) == normalise_name(key_column)
                ),
                None,
            )
            if key_index is None:
                raise InputError(
                    f"--join {name}: it has no key column {key_column!r} "
                    f"(its columns: {_shown(header)})"
                )
            self.header = [n for i, n in enumerate(header) if i != key_index]
            self.rows: dict[str, list[str]] = {}
            width = len(header)
            line = reader.line_num
            for row in reader:
                line = reader.line_num
                if not row:
                    continue
                row = row + [""] * (width - len(row))
                key = row[key_index].strip()
                if key not in self.rows:
                    self.rows[key] = [c for i, c in enumerate(row[:width]) if i != key_index]
        except csv.Error as error:
            raise InputError(f"--join {name}: line {line + 1}: {_csv_message(error)}") from None
        finally:
            text.close()
        self.blank = [""] * len(self.header)
        self.missing = 0

    def cells(self, key: str) -> list[str]:
        found = self.rows.get(key.strip())
        if found is None:
            self.missing += 1
            return self.blank
        return found


def _key_column_name(main: CsvStream, options: ReadOptions) -> str:
    if "key" in options.mapping:
        return options.mapping["key"]
    for field_name, words in main.synonyms.items():
        if field_name != "key":
            continue
        for word in words:
            for name in main.header:
                if normalise_name(name) == word:
                    return name
    raise InputError("--join needs a key column: name it with --map key=COLUMN")


_MISSING_WORDS = MISSING - {""}


def escape(value):
    """A cell as written: formula-like text gets a leading apostrophe (OWASP),
    and so does text that reads as "no value" (``NA``, ``null``), so that a
    task titled ``NA`` comes back titled ``NA``."""
    if isinstance(value, str) and value.strip().lstrip("'") in _MISSING_WORDS:
        return "'" + value
    return csv_escape(value)


def unescape(cell: str):
    """Undo :func:`escape`."""
    if cell[:1] == "'" and cell[1:].strip().lstrip("'") in _MISSING_WORDS:
        return cell[1:]
    return csv_unescape(cell)


def _csv_message(error: csv.Error) -> str:
    text = str(error)
    if "field larger than field limit" in text:
        return f"a cell is longer than {MAX_LINE_CHARS:,} characters"
    return f"not readable as CSV ({text})"


def _shown(names: Iterable[str], limit: int = 300) -> str:
    text = ", ".join(n for n in names if n) or "(none)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def open_reader(options: ReadOptions) -> CsvStream:
    return TsvStream(options) if options.format_name == "tsv" else CsvStream(options)


# --- writing -------------------------------------------------------------------


def write_tasks(handle, rows: Iterable[dict], columns: list[str]) -> int:
    """Write tasks as CSV: a header, then one row each; formula-like text
    cells get a leading apostrophe, lists are comma-joined, None is empty."""
    writer = csv.writer(handle, lineterminator="\r\n")  # RFC 4180; quotes any CR or LF
    writer.writerow(columns)
    count = 0
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            if value is None:
                cells.append("")
            elif isinstance(value, list | tuple):
                cells.append(escape(",".join(str(v) for v in value)))
            else:
                cells.append(escape(value))
        writer.writerow(cells)
        count += 1
    return count
