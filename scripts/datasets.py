"""The two public datasets beside the repository (``../shared/data``), read in place.

``scripts/build_reference.py`` (the reference population), ``scripts/fit_drift.py``
(the drift of section 2) and the coverage suite (``tests/validation``) read the
data through these functions, so that all three see the same tasks. Never copy
the data into the repository.

The quirks of the data (see ``../shared/data/README.md``):

- CESAW: one row per task, efforts in minutes, ``\\N`` for missing values; a plan
  of 0 means no estimate (the task does not count). A developer is a
  ``person_key``, a team a ``team_key``; dates are ``m/d/Y H:M``. 1,610 rows end
  before they start: kept (they count, and the done date alone orders them).
- SiP: cp1252 text; a task worked by several developers has one row per
  developer, with the task's estimate and total actual repeated. Each task
  counts once, for the developer who logged most of its hours
  (``DeveloperHoursActual``); on a tie, the first such row in the file. Its done
  date is ``CompletedOn`` (``dd-Mon-yy``) of ``est-act-dates.csv``, empty for
  20% of the tasks. SiP has no teams.

Each reader returns one row per task: ``dataset``, ``person``, ``team`` (``None``
without one), ``estimate_h``, ``actual_h``, ``done`` (a timestamp, NaT without
one), ``order`` (the task's first row in the file, which breaks ties of the
done date), and its words as calibrate would hold them after the README's
import commands (``title``, ``tags``, ``project``: SiP's Summary, Category and
SubCategory, ProjectCode; CESAW's phase_short_name, no tags, project_key).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CESAW_FILE = Path("cesaw") / "CESAW_task_fact.csv.xz"
SIP_FILE = Path("sip") / "Sip-task-info.csv"
SIP_DATES = Path("sip") / "est-act-dates.csv"
MISSING = ["", "\\N", "NA"]

SOURCES = {
    "CESAW": {
        "source": "Derek-Jones/Software-estimation-datasets @ e3fbd4faa2a5 (CESAW.tgz)",
        "paper": 'D. M. Jones, W. R. Nichols, "The CESAW dataset: a conversation", '
        "arXiv:2106.03679 (2021)",
        "description": "Team Software Process projects, 2010-2017: one row per task; "
        "a developer is a person_key",
    },
    "SiP": {
        "source": "Derek-Jones/SiP_dataset @ eb5fedc7d57b",
        "paper": 'D. M. Jones, S. Cullum, "A conversation around the analysis of the SiP '
        'effort estimation dataset", arXiv:1901.01621 (2019)',
        "description": "one commercial company, 2004-2014: each task counted once, for "
        "the developer who logged most of its hours (DeveloperHoursActual)",
    },
}


def _numbers(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column.str.strip().replace(MISSING, np.nan), errors="coerce").to_numpy(
        dtype=float
    )


def read_cesaw(data: Path = DATA) -> pd.DataFrame:
    """CESAW, one row per task."""
    raw = pd.read_csv(
        data / CESAW_FILE,
        dtype=str,
        keep_default_na=False,
        usecols=[
            "person_key",
            "team_key",
            "task_actual_complete_date",
            "task_actual_time_minutes",
            "task_plan_time_minutes",
            "phase_short_name",
            "project_key",
        ],
    )
    team = raw["team_key"].str.strip()
    done = raw["task_actual_complete_date"].str.strip()
    return pd.DataFrame(
        {
            "dataset": "CESAW",
            "person": raw["person_key"].str.strip().to_numpy(dtype=object),
            "team": team.where(~team.isin(MISSING), None).to_numpy(dtype=object),
            "estimate_h": _numbers(raw["task_plan_time_minutes"]) / 60,
            "actual_h": _numbers(raw["task_actual_time_minutes"]) / 60,
            "done": pd.to_datetime(
                done.where(~done.isin(MISSING)), format="%m/%d/%Y %H:%M", errors="coerce"
            ),
            "order": np.arange(len(raw)),
            "title": raw["phase_short_name"].str.strip().to_numpy(dtype=object),
            "tags": [()] * len(raw),
            "project": raw["project_key"].str.strip().to_numpy(dtype=object),
        }
    )


def _number(text: str) -> float:
    return float("nan") if text.strip() in MISSING else float(text)


def read_sip(data: Path = DATA) -> pd.DataFrame:
    """SiP, one row per task: the row of the developer who logged most of its
    hours, the first in the file on a tie."""
    chosen: dict[str, tuple[float, str, float, float, tuple[str, ...]]] = {}
    first: dict[str, int] = {}
    text = (data / SIP_FILE).read_bytes().decode("cp1252")
    for index, row in enumerate(csv.DictReader(io.StringIO(text, newline=""))):
        task = row["TaskNumber"].strip()
        first.setdefault(task, index)
        hours = _number(row["DeveloperHoursActual"])
        best = chosen.get(task)
        if best is None or hours > best[0]:
            chosen[task] = (
                hours,
                row["DeveloperID"].strip(),
                _number(row["HoursEstimate"]),
                _number(row["HoursActual"]),
                tuple(
                    row[c].strip() for c in ("Summary", "Category", "SubCategory", "ProjectCode")
                ),
            )
    done_of: dict[str, str] = {}
    with open(data / SIP_DATES, encoding="cp1252", newline="") as handle:
        for row in csv.DictReader(handle):
            value = (row["CompletedOn"] or "").strip()
            if value not in MISSING:
                done_of[row["TaskNumber"].strip()] = value
    tasks = list(chosen)
    done = pd.Series([done_of.get(task) for task in tasks], dtype=object)
    return pd.DataFrame(
        {
            "dataset": "SiP",
            "person": np.array([chosen[t][1] for t in tasks], dtype=object),
            "team": np.full(len(tasks), None, dtype=object),
            "estimate_h": np.array([chosen[t][2] for t in tasks], dtype=float),
            "actual_h": np.array([chosen[t][3] for t in tasks], dtype=float),
            "done": pd.to_datetime(done, format="%d-%b-%y", errors="coerce").to_numpy(),
            "order": np.array([first[t] for t in tasks]),
            "title": np.array([chosen[t][4][0] for t in tasks], dtype=object),
            "tags": [tuple(tag for tag in chosen[t][4][1:3] if tag) for t in tasks],
            "project": np.array([chosen[t][4][3] or None for t in tasks], dtype=object),
        }
    )


def read_all(data: Path = DATA) -> dict[str, pd.DataFrame]:
    """Both datasets, by name."""
    return {"CESAW": read_cesaw(data), "SiP": read_sip(data)}


def counted(tasks: pd.DataFrame) -> pd.DataFrame:
    """The tasks that count (E > 0 and A > 0, both finite)."""
    e, a = tasks["estimate_h"].to_numpy(dtype=float), tasks["actual_h"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(e) & np.isfinite(a) & (e > 0) & (a > 0)
    return tasks[ok]


def in_done_order(tasks: pd.DataFrame) -> pd.DataFrame:
    """Counted tasks with a done date, in done order, ties in file order
    (METRICS.md section 8's windows; section 2's drift fit)."""
    dated = counted(tasks)
    dated = dated[dated["done"].notna()]
    return dated.sort_values(["done", "order"], kind="mergesort").reset_index(drop=True)


def present(data: Path = DATA) -> bool:
    """Whether both datasets are there."""
    return all((data / name).exists() for name in (CESAW_FILE, SIP_FILE, SIP_DATES))
