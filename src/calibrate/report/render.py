"""From built sections to one self-contained HTML file.

:func:`render` fills ``templates/report.html.j2`` (jinja2 with autoescape, so
every title, name, tag and note from a user or an import is escaped). Figures
go in as JSON inside ``<script type="application/json">`` (``<``, ``>`` and
``&`` escaped, so no text can close the script) and plotly.js is inlined once,
so the file works offline (or, asked for, loaded from its CDN with an
integrity hash). :func:`write_atomically` writes the file (a temporary file in
the same folder, then a rename) at :func:`default_path` unless told otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import jinja2
import plotly.graph_objects as go
import plotly.io as pio
from markupsafe import Markup

from calibrate import __version__, files, rules
from calibrate.durations import local_today
from calibrate.errors import InputError
from calibrate.report.data import ReportData
from calibrate.report.headline import headline
from calibrate.report.model import PLOTLY_CONFIG, Cell, Section
from calibrate.selection import Selection

PLOTLYJS_MODES = ("inline", "cdn")
#: Where ``--plotlyjs cdn`` loads plotly.js from (plotly's own CDN address).
PLOTLY_CDN = "https://cdn.plot.ly/plotly-{version}.min.js"


def render(
    data: ReportData,
    sections: Sequence[Section],
    *,
    plotlyjs: str = "inline",
    note: str | None = None,
) -> str:
    """The HTML text of the report: the headline of ``data``, then ``sections``,
    every text in them held to its display length (:func:`bounded`)."""
    head = _clipped(headline(data), SENTENCE_CHARS)
    sections = [bounded(section) for section in sections]
    charts = [
        {"key": section.key, "json": figure_json(section.figure)}
        for section in sections
        if section.figure is not None and section.empty is None
    ]
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=f"Calibration report: {head['scope']}",
        head=head,
        sections=sections,
        charts=charts,
        plotly=plotly_script(plotlyjs),
        plotly_config=Markup(pio.json.to_json_plotly(PLOTLY_CONFIG)),
        note=note,
        version=__version__,
        generated=data.today.isoformat(),
        iso_week=iso_week(data.today),
        prior_worth=f"{rules.SCORE_N0:g}",
        cell_type=Cell,
    )


# --- lengths: a report's size grows with its tasks, never with the length of a text ------

#: The most characters shown of a table cell (a title, a name), of its second
#: line (notes), of one tag, how many tags a cell shows, and of a sentence or a
#: chart's text. Exports keep every text whole; only the report shortens them.
CELL_CHARS = 200
DETAIL_CHARS = 300
TAG_CHARS = 40
TAGS_SHOWN = 12
SENTENCE_CHARS = 1000
#: The attributes of a chart's traces that carry text from the data.
TRACE_TEXTS = ("name", "text", "hovertext", "customdata", "x", "y", "legendgroup", "ids")


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clipped(value, limit: int):
    """Every string in ``value`` (nested lists, tuples, dicts, object arrays)
    shortened to ``limit``; anything else as it is."""
    if isinstance(value, str):
        return shorten(value, limit)
    if isinstance(value, dict):
        return {key: _clipped(item, limit) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clipped(item, limit) for item in value)
    if getattr(value, "dtype", None) is not None and value.dtype.kind == "O":
        import numpy as np

        flat = [_clipped(item, limit) for item in value.ravel().tolist()]
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(value.shape)
    return value


def _too_long(value, limit: int) -> bool:
    """Whether any string in ``value`` is longer than ``limit`` (numbers are skipped fast)."""
    if isinstance(value, str):
        return len(value) > limit
    if isinstance(value, dict):
        return any(_too_long(item, limit) for item in value.values())
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return dtype.kind == "O" and any(_too_long(v, limit) for v in value.ravel().tolist())
    if isinstance(value, list | tuple):
        return any(_too_long(item, limit) for item in value)
    return False


def bounded(section: Section) -> Section:
    """``section`` with every text held to its display length: table cells
    (:data:`CELL_CHARS`, notes :data:`DETAIL_CHARS`, at most :data:`TAGS_SHOWN`
    tags of :data:`TAG_CHARS`), sentences and the chart's trace texts, so that
    a title of a million characters adds at most a few hundred to the file."""
    import dataclasses

    from calibrate.report.model import Heading, Table

    def cell(value):
        if isinstance(value, Cell):
            tags = [shorten(str(tag), TAG_CHARS) for tag in value.tags[:TAGS_SHOWN]]
            if len(value.tags) > TAGS_SHOWN:
                tags.append(f"+{len(value.tags) - TAGS_SHOWN}")
            return dataclasses.replace(
                value,
                text=shorten(value.text, CELL_CHARS),
                detail=None if value.detail is None else shorten(value.detail, DETAIL_CHARS),
                tags=tags,
                alerts=[shorten(str(a), CELL_CHARS) for a in value.alerts],
            )
        if isinstance(value, Heading):
            return dataclasses.replace(
                value,
                text=shorten(value.text, CELL_CHARS),
                detail=None if value.detail is None else shorten(value.detail, DETAIL_CHARS),
            )
        if isinstance(value, list | tuple):
            return type(value)(cell(item) for item in value)
        return _clipped(value, CELL_CHARS)

    tables: list[Table] = [
        dataclasses.replace(
            table,
            rows=cell(table.rows),
            columns=_clipped(table.columns, CELL_CHARS),
            caption=_clipped(table.caption, SENTENCE_CHARS),
            note=_clipped(table.note, SENTENCE_CHARS),
        )
        for table in section.tables
    ]
    figure = section.figure
    if figure is not None:
        for trace in figure.data:
            for name in TRACE_TEXTS:
                value = trace[name] if name in trace else None  # noqa: SIM401 (no .get)
                if value is not None and _too_long(value, CELL_CHARS):
                    trace[name] = _clipped(value, CELL_CHARS)
    return dataclasses.replace(
        section,
        title=shorten(section.title, SENTENCE_CHARS),
        how_to_read=shorten(section.how_to_read, SENTENCE_CHARS),
        summary=None if section.summary is None else shorten(section.summary, SENTENCE_CHARS),
        notes=[shorten(note, SENTENCE_CHARS) for note in section.notes],
        empty=None if section.empty is None else shorten(section.empty, SENTENCE_CHARS),
        tables=tables,
        figure=figure,
    )


def figure_json(fig: go.Figure) -> Markup:
    """A figure as JSON that is safe inside ``<script type="application/json">``:
    ``<``, ``>`` and ``&`` become ``\\u003c`` and friends, so no text in it can
    close the script element, whatever a title or name holds."""
    text = pio.to_json(fig, validate=False, remove_uids=True)
    for raw, safe in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, safe)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)  # escaped just above


def check_plotlyjs(mode: str) -> str:
    """``mode`` if it is one of :data:`PLOTLYJS_MODES`, else an :class:`InputError`."""
    if mode not in PLOTLYJS_MODES:
        raise InputError(f"unknown plotly.js mode {mode!r}: use inline or cdn")
    return mode


def plotly_script(mode: str) -> dict:
    """How the page loads plotly.js: ``inline`` (the whole library, once, so the
    file works offline) or ``cdn`` (a script tag with its integrity hash)."""
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    check_plotlyjs(mode)
    source = get_plotlyjs()
    if mode == "inline":
        return {"inline": Markup(re.sub(r"</(script)", r"<\\/\1", source, flags=re.I))}
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return {
        "src": PLOTLY_CDN.format(version=get_plotlyjs_version()),
        "integrity": "sha256-" + base64.b64encode(digest).decode("ascii"),
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("calibrate.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


# --- the file -----------------------------------------------------------------------------


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe form of a name: letters, digits and dashes."""
    words = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return words[:limit].rstrip("-") or "unnamed"


def default_path(selection: Selection, today: date | None = None, folder: str = "reports") -> Path:
    """``reports/calibrate-<scope>-<ISO week>.html``."""
    if selection.person is not None:
        scope = slug(selection.person)
    elif selection.team is not None:
        scope = "team-" + slug(selection.team)
    else:
        scope = "everyone"
    return Path(folder) / f"calibrate-{scope}-{iso_week(today or local_today())}.html"


def write_atomically(text: str, path: Path, *, database: str | None = None) -> Path:
    """Write ``text`` to ``path`` with :func:`calibrate.files.output_file` (a
    temporary file in the same folder, fsync, a rename): a reader never sees
    half a report, a failure leaves the old one; a FIFO or a device is
    written straight into, and ``database`` or its files never. A folder is
    not a file name, and errors say "the report"."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder: give a file name for the report")
    with files.output_file(path, database=database, make_folder=True, what="the report") as stream:
        stream.write(text)
    return path
