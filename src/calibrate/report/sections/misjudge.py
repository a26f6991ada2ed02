"""Section: where you misjudge, by tag, project, size and weekday created
(``calibrate score --by``'s figures, the same numbers)."""

from __future__ import annotations

from calibrate import misjudge, rules
from calibrate.report.data import ReportData
from calibrate.report.model import Cell, Section, Table
from calibrate.text import factor, percent


def misjudge_section(data: ReportData) -> Section:
    """Each kind of group with its groups shown (10+ finished tasks or 10+
    promises due), the clearly different ones said first in plain words."""
    section = Section(
        key="misjudge",
        title="Where you misjudge",
        how_to_read=(
            "Per tag, project, size and weekday a task was created: the median actual / "
            "estimate with its 90% interval against the rest of the tasks, the typical miss "
            "and the keep rate. A group is marked clearly different only where a test "
            "against shuffles within the same weeks survives a false discovery rate of "
            f"{rules.GROUP_FDR_Q:.2f} across the groups of its kind. A ratio says how far "
            "off an estimate was, not how fast the work went."
        ),
    )
    person = data.scope == "person"
    found: list[str] = []
    for by, result in misjudge.build_kinds(data.conn, data.selection, today=data.today).items():
        if not result["groups"]:
            continue
        found += [
            misjudge.row_sentence(by, row, person=person)
            for row in result["groups"]
            if row["different"]
        ]
        section.tables.append(_table(result))
    if not section.tables:
        section.empty = (
            f"No tag, project, size or weekday has {rules.GROUP_MIN_TASKS} finished tasks or "
            f"{rules.GROUP_MIN_PROMISES} promises due in this window."
        )
        return section
    usual = "your usual" if person else "the usual"
    if found:
        section.summary = f"Clearly different from {usual}: " + " ".join(found)
    else:
        section.summary = f"No group is clearly different from {usual}."
    return section


def _table(result: misjudge.GroupsResult) -> Table:
    rows = []
    for row in result["groups"]:
        low, high = row["bias_factor_low"], row["bias_factor_high"]
        keep_low, keep_high = row["keep_rate_low"], row["keep_rate_high"]
        miss_low, miss_high = row["typical_miss_low"], row["typical_miss_high"]
        rows.append(
            [
                Cell(row["group"], alerts=("clearly different",) if row["different"] else ()),
                f"{row['n']:,}",
                Cell(
                    factor(row["bias_factor"]),
                    detail=f"90%: {factor(low)} to {factor(high)}" if low and high else None,
                ),
                factor(row["rest_bias_factor"]),
                Cell(
                    factor(row["typical_miss"]),
                    detail=(
                        f"90%: {factor(miss_low)} to {factor(miss_high)}"
                        if miss_low and miss_high
                        else None
                    ),
                ),
                f"{row['due']:,}",
                Cell(
                    percent(row["keep_rate"]),
                    detail=(
                        f"90%: {percent(keep_low)} to {percent(keep_high)}"
                        if keep_low is not None and keep_high is not None
                        else None
                    ),
                ),
            ]
        )
    left = result["left_out"]
    return Table(
        columns=[
            (misjudge.KIND_WORDS[result["by"]], "text"),
            ("tasks", "num"),
            ("actual / estimate", "num"),
            ("the rest", "num"),
            ("typical miss", "num"),
            ("promises due", "num"),
            ("kept", "num"),
        ],
        rows=rows,
        caption=f"By {misjudge.KIND_WORDS[result['by']]}",
        note=(f"Left out (too few): {', '.join(left)}" if left else None),
    )
