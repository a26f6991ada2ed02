"""The public datasets beside the repository, ``../shared/data``: read in place, never
copied in. Tests on them are marked ``realdata`` and skip where the files are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
SIP = SHARED_DATA / "sip"
SIP_TASKS = SIP / "Sip-task-info.csv"
SIP_DATES = SIP / "est-act-dates.csv"
CESAW = SHARED_DATA / "cesaw" / "CESAW_task_fact.csv.xz"


def requires_shared_data(*names: str):
    """Skip unless the named files (or folders) of the public datasets are present."""
    missing = [name for name in names if not (SHARED_DATA / name).exists()]
    return pytest.mark.skipif(
        bool(missing) or not SHARED_DATA.exists(),
        reason=f"public datasets not present at {SHARED_DATA}",
    )


def sip_tasks():
    """SiP's tasks as a pandas frame, one row per task (sorted by ``TaskNumber``):
    the row of the developer who logged most of its hours, on a tie the first in
    the file, as ``calibrate import --prefer DeveloperHoursActual`` keeps it."""
    import pandas as pd

    rows = pd.read_csv(SIP_TASKS, encoding="cp1252")
    rows = rows.sort_values(
        ["TaskNumber", "DeveloperHoursActual"], ascending=[True, False], kind="stable"
    )
    return rows.drop_duplicates("TaskNumber")


#: SiP's columns for calibrate's fields, as the README maps them.
SIP_MAP = {
    "key": "TaskNumber",
    "estimate": "HoursEstimate",
    "actual": "HoursActual",
    "person": "DeveloperID",
    "project": "ProjectCode",
    "created": "EstimateOn",
}


def sip_import_args() -> list[str]:
    """The ``calibrate import`` arguments the README documents for SiP."""
    args = ["import", str(SIP_TASKS), "--encoding", "cp1252", "--source", "sip"]
    args += ["--join", str(SIP_DATES), "--prefer", "DeveloperHoursActual"]
    for field, column in SIP_MAP.items():
        args += ["--map", f"{field}={column}"]
    return args
