"""The ``rank``, ``people`` and ``alias`` commands.

Loaded lazily (``calibrate.cli.LAZY_COMMANDS``): ``rank`` needs numpy and pandas, which
are imported inside it; ``people`` and ``alias`` need only the standard library.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Literal, TypedDict

import click

from calibrate.cli.options import (
    App,
    emit,
    emit_flat,
    exclusive,
    output_options,
    pass_app,
    say,
    selection_from,
    window_option,
)
from calibrate.errors import NotFound
from calibrate.identity import default_person
from calibrate.text import Column, count, factor, percent, render_table, to_json

if TYPE_CHECKING:  # numpy's and pandas': imported inside 'rank' alone
    from calibrate.stats.ranks import PersonRow, RankGroup, SummaryWindow, TeamRow


class RankWindow(TypedDict):
    since: str | None


class ReferenceTable(TypedDict):
    """The real developers a REAL column places people among."""

    n: int
    source: str
    score_version: int
    attribution: str


class PeopleRanks(TypedDict):
    """``calibrate rank --json``: people within their team."""

    scope: str
    window: RankWindow
    viewer: str | None
    anonymised: bool
    reference: ReferenceTable
    people_from_summaries: int
    groups: list[RankGroup]


class TeamsRanks(TypedDict):
    """``calibrate rank --teams --json``: teams against each other (:class:`TeamRanks`);
    ``shorter``: the teams whose summaries cover less than the window,
    ``left_out``: the people the summaries left out (opted out there)."""

    scope: Literal["teams"]
    window: RankWindow
    ranked: list[TeamRow]
    unranked: list[TeamRow]
    n: int
    shorter: list[SummaryWindow]
    left_out: int


# --- rank --------------------------------------------------------------------------


@click.command()
@click.option("--team", metavar="TEAM", help="Rank the people of this team.")
@click.option("--teams", "rank_teams", is_flag=True, help="Rank teams against each other.")
@click.option("--everyone", is_flag=True, help="Rank the people of every team.")
@window_option("26w")
@click.option(
    "--anonymise",
    "--anonymize",
    "anonymise",
    is_flag=True,
    help="Replace names with stable pseudonyms, for sharing outside the team.",
)
@output_options
@pass_app
def rank(app: App, team, rank_teams, everyone, since, anonymise, json_output, csv_output) -> None:
    """Percentile ranks: people within their team, teams against each other,
    and each against real developers.

    People are ranked within their team by their raw score once they have 30
    finished tasks in the window, each with the 90% interval of their long-run
    score; neighbours whose intervals overlap are marked ~ (not clearly
    apart). With 10-29 tasks they are provisional, listed apart and never
    ranked. Each rank shows its N; ties share the mid-rank. REAL is the range
    of places your score's interval spans among 214 real developers of two
    public datasets (CESAW and SiP), matched to your task sizes; "in the top
    X%" is said only when the whole range is inside it. "Top 5%" means a
    long-run score of about 69 or more, which takes hundreds of tasks to
    show. Without options: your team.

    People who opted out ('calibrate people --opt-out') are never shown to
    others; they still see themselves. Imported team summaries count for the
    people they bring (never for anyone with tasks here); --teams says where a
    team's summaries cover fewer weeks than the window. --json gives every figure, unrounded;
    --csv one row a person (or team), ranked and provisional alike.
    """
    from calibrate import reference, teams
    from calibrate.rules import RANKED_N
    from calibrate.stats import ranks
    from calibrate.store import load as history
    from calibrate.store import people, summaries
    from calibrate.store.tasks import canonical_person

    exclusive("give one of --team, --teams or --everyone", team, rank_teams, everyone)
    selection = selection_from(None, None, True, since=since)
    conn = app.existing_conn()
    if conn is None:
        raise NotFound("no tasks yet: nobody to rank (log tasks with 'calibrate add')")
    me = canonical_person(conn, default_person())
    # Shared outside the team, a listing shows nobody's opted-out row, not even yours.
    viewer = None if anonymise else me
    wanted, scope = (None, "teams") if rank_teams else _wanted_groups(conn, team, everyone, me)
    inputs = teams.rank_inputs(conn, selection)
    table = reference.load()
    window = describe_window(history, selection)
    if rank_teams:
        result = ranks.rank_teams(
            inputs.teams,
            inputs.people_per_team,
            everyone_stats=inputs.everyone,
            pairs=inputs.pairs,
            reference=table,
        )
        if not result["ranked"]:
            raise NotFound(
                f"no team has {RANKED_N} finished tasks in {window}: widen it with --since all"
            )
        by_team: TeamsRanks = {
            "scope": "teams",
            "window": window_dict(history, selection),
            **result,
            "shorter": teams.shorter_windows(inputs.windows, history.window_start(selection)),
            "left_out": summaries.left_out(conn) if inputs.from_summaries else 0,
        }
        if csv_output:
            emit_flat([*by_team["ranked"], *by_team["unranked"]])
        else:
            click.echo(to_json(by_team) if json_output else render_teams(by_team, window))
        return
    groups = ranks.rank_people(
        inputs.people,
        inputs.teams,
        inputs.everyone,
        pairs=inputs.pairs,
        reference=table,
        viewer=viewer,
        teams=wanted,
    )
    if not any(group["ranked"] for group in groups):
        provisional = sum(len(group["provisional"]) for group in groups)
        who = "nobody in the database" if wanted is None else _nobody_in(wanted[0])
        advice = (
            "ranks start there (10 for a provisional place)"
            if window == "all history"
            else "widen it with --since all"
        )
        raise NotFound(
            f"{who} has {RANKED_N} finished tasks in {window}"
            + (f" ({provisional} provisional, 10-29)" if provisional else "")
            + f": {advice}"
        )
    if anonymise:
        shown = [row for group in groups for row in group["ranked"] + group["provisional"]]
        mapping = ranks.pseudonyms([row["person"] for row in shown], people.pseudonym_salt(conn))
        for row in shown:
            row["person"] = mapping[row["person"]]
    out: PeopleRanks = {
        "scope": scope,
        "window": window_dict(history, selection),
        "viewer": viewer,
        "anonymised": anonymise,
        "reference": {
            "n": table.n,
            "source": table.source(),
            "score_version": table.score_version,
            "attribution": table.attribution,
        },
        "people_from_summaries": inputs.from_summaries,
        "groups": groups,
    }
    if csv_output:
        emit_flat([row for group in groups for row in group["ranked"] + group["provisional"]])
        return
    if json_output:
        click.echo(to_json(out))
        return
    listing = render_people(out, window)
    claim_words = next_claim_words(groups, inputs.people, table)
    say(listing + ("\n\n" + claim_words if claim_words else ""))


def next_claim_words(groups: list[RankGroup], people, table) -> str | None:
    """What it would take for the viewer's next "in the top X%" among real
    developers (METRICS.md section 5): the score the worse end of the range
    must pass, and about how many tasks that takes at the present score."""
    import numpy as np

    from calibrate import rules
    from calibrate.reference import describe
    from calibrate.stats import ranks

    mine = [row for g in groups for row in g["ranked"] if row["you"] and row["reference"]]
    if not mine:
        return None
    row = mine[0]
    place = row["reference"]
    assert place is not None
    found = people[people["person"] == row["person"]]
    if row["score"] is None or found.empty:
        return None
    me = found.iloc[0]
    n, total, squares = float(me["n"]), float(me["sum_abs"]), float(me["sum_sq"])
    mix = np.array([float(me[f"n_b{b}"]) for b in range(len(rules.SIZE_LABELS))])
    levels = [c for c in rules.CLAIM_LEVELS if place["claim"] is None or c < place["claim"]]
    if not levels:
        return f"You are {describe(place)}: no higher claim to make."
    target = levels[-1]
    threshold = table.threshold_m(target, mix)
    if threshold is None:
        return None
    m_s = -float(np.log2(row["score"] / 100.0))
    sd = float(np.sqrt(max((squares - total * total / n) / max(n - 1, 1), 0.0)))
    needed = ranks.tasks_for_claim(m_s, sd, m_s, threshold, int(n))
    words = [f"You are {describe(place)}."]
    bar = 100.0 * 2.0**-threshold
    words.append(
        f'To be told "in the top {target}%", the worse end of your range must pass '
        f"{bar:.0f} (the top {target}% of real developers, at your task sizes);"
    )
    if needed is None:
        words.append(f"your score ({row['score']:.0f}) would have to rise above {bar:.0f} first.")
    else:
        words.append(
            f"at your score ({row['score']:.0f}) that takes about {needed:,} finished tasks "
            "(accuracy drifts, so only a long history narrows the range)."
        )
    return textwrap.fill(" ".join(words), width=80)


def _wanted_groups(conn, team, everyone, viewer):
    """Which teams to show: ``--team``, every one, or the viewer's (checked
    before the tasks are loaded, so that a typo fails at once)."""
    from calibrate import teams
    from calibrate.store import people

    if everyone:
        return None, "everyone"
    if team is not None:
        if not teams.team_exists(conn, team):
            known = ", ".join(sorted(teams.known_teams(conn))) or "none"
            raise NotFound(f"no team {team!r} in this database (teams: {known})")
        return [team], "team"
    if not people.is_known(conn, viewer):
        raise NotFound(
            f"{viewer} has no tasks here, so has no team to rank: use --team TEAM or --everyone"
        )
    own = people.current_team(conn, viewer)
    return [own], "your team"


def _nobody_in(team: str | None) -> str:
    return f"nobody in team {team}" if team is not None else "nobody without a team"


def describe_window(history, selection) -> str:
    """``27 weeks from 2026-05-25`` or ``all history``."""
    start = history.window_start(selection)
    if start is None:
        return "all history"
    from calibrate.durations import local_today, week_index

    first, last = week_index([start, local_today()])
    weeks = int(last - first + 1)
    return f"{count(weeks, 'week')} from {start.isoformat()}"


def window_dict(history, selection) -> RankWindow:
    start = history.window_start(selection)
    return {"since": start.isoformat() if start else None}


def _top(value) -> str:
    from calibrate.reference import format_top

    return "-" if value is None else f"top {format_top(value)}"


def _rank(value, of) -> str:
    if value is None:
        return ""
    shown = f"{value:g}" if value == int(value) else f"{value:.1f}"
    return f"{shown}/{of}"


def _person_cells(row: PersonRow, close: bool = False, alone: bool = False) -> dict:
    """A person's row; ``alone``: the only ranked person of their team, who
    has no rank within it (never "1/1" and "top 50%")."""
    name = row["person"]
    if row["you"]:
        name += " (you*)" if row["opted_out"] else " (you)"
    interval = "-"
    if row["score_raw_low"] is not None:
        interval = f"{row['score_raw_low']:.0f}-{row['score_raw_high']:.0f}"
    return {
        "rank": "-" if alone else ("~" if close else "") + _rank(row["rank"], row["of"]),
        "person": name,
        "n": f"{row['n']:,}",
        "score": "-" if row["score_raw"] is None else f"{row['score_raw']:.0f}",
        "interval": interval,
        "bias": factor(row["bias_factor"]),
        "kept": percent(row["keep_rate"]),
        "team": "-" if alone else _top(row["top_percent"]),
        "real": _real(row["reference"]),
    }


def _real(place) -> str:
    """The place among real developers as a range of top-X% figures, the
    claim (when the range allows one) marked with *."""
    from calibrate.reference import format_top

    if not place:
        return "-"
    best, worst = format_top(place["top_best"]), format_top(place["top_worst"])
    text = best if best == worst else f"{best[:-1]}-{worst}"
    return text + ("*" if place["claim"] is not None else "")


PEOPLE_COLUMNS = [
    Column("rank", "RANK", 7),
    Column("person", "PERSON"),
    Column("n", "TASKS", 5, ">"),
    Column("score", "RAW", 4, ">"),
    Column("interval", "90%", 7, ">"),
    Column("bias", "BIAS", 5, ">"),
    Column("kept", "KEPT", 4, ">"),
    Column("team", "TEAM", 7),
    Column("real", "REAL TOP", 8),
]


def render_people(out: PeopleRanks, window: str) -> str:
    """The ranks for people, at 80 columns."""
    lines = [f"Ranks within teams, {window} (raw scores, 30+ tasks)"]
    close_seen = False
    for group in out["groups"]:
        name = f"Team {group['team']}" if group["team"] is not None else "No team (among everyone)"
        lines.append("")
        ranked = group["ranked"]
        alone = len(ranked) == 1
        if alone:
            where = f"team {group['team']}" if group["team"] is not None else "no team"
            lines.append(f"{name}: 1 ranked, the only ranked person in {where}")
        else:
            lines.append(f"{name}: {group['n']} ranked")
        rows = []
        for i, row in enumerate(ranked):
            close = i > 0 and bool(ranked[i - 1]["overlaps_next"])
            close_seen |= close
            rows.append(_person_cells(row, close, alone=alone))
        if rows:
            lines.append(render_table(rows, PEOPLE_COLUMNS))
        else:
            lines.append("  nobody with 30 finished tasks in this window")
        if group["provisional"]:
            lines.append("  provisional, 10-29 tasks (not ranked):")
            cells = [_person_cells(row) for row in group["provisional"]]
            table = render_table(cells, PEOPLE_COLUMNS).splitlines()[1:]
            lines.extend(table)
        if group["too_few"]:
            few = group["too_few"]
            lines.append(
                f"  {count(few, 'person', 'people')} with under 10 finished tasks not shown"
            )
    if any(row["you"] and row["opted_out"] for group in out["groups"] for row in group["ranked"]):
        lines.append("")
        lines.append("* You opted out of ranks: nobody else sees you; you are placed among them.")
    reference = out["reference"]
    lines.append("")
    notes = []
    if close_seen:
        notes.append("~: not clearly apart from the person above (their 90% intervals overlap).")
    notes.append(
        "RAW and 90%: the long-run score the rank is by. TEAM: top X% within the team; RANK "
        f"shows N. REAL TOP: the range of top-X% places among {reference['n']} real "
        f"developers ({reference['source']}), matched to task sizes; * where the whole "
        "range lies inside a top 5, 10, 25 or 50%."
    )
    lines.extend(textwrap.fill(note, width=80) for note in notes)
    if out["people_from_summaries"]:
        from_summaries = count(out["people_from_summaries"], "person", "people")
        lines.append(f"{from_summaries} from imported team summaries.")
    return "\n".join(lines)


TEAM_COLUMNS = [
    Column("rank", "RANK", 7),
    Column("team", "TEAM"),
    Column("people", "PEOPLE", 6, ">"),
    Column("n", "TASKS", 7, ">"),
    Column("score", "RAW", 4, ">"),
    Column("interval", "90%", 7, ">"),
    Column("shrunk", "SCORE", 5, ">"),
    Column("kept", "KEPT", 4, ">"),
    Column("top", "TOP", 8),
]


def render_teams(out: TeamsRanks, window: str) -> str:
    lines = textwrap.wrap(f"Teams ranked by raw pooled score, {window} (teams with 30+ tasks)", 80)
    rows = []
    close_seen = False
    for i, row in enumerate(out["ranked"]):
        close = i > 0 and bool(out["ranked"][i - 1]["overlaps_next"])
        close_seen |= close
        rows.append(
            {
                "rank": ("~" if close else "") + _rank(row["rank"], row["of"]),
                "team": row["team"],
                "people": row["people"],
                "n": f"{row['n']:,}",
                "score": f"{row['score_raw']:.0f}",
                "interval": f"{row['score_raw_low']:.0f}-{row['score_raw_high']:.0f}",
                "shrunk": "-" if row["score"] is None else f"{row['score']:.0f}",
                "kept": percent(row["keep_rate"]),
                "top": _top(row["top_percent"]),
            }
        )
    lines.append(render_table(rows, TEAM_COLUMNS))
    notes = [
        "RAW and 90%: the pooled long-run score the rank is by; SCORE: shrunk toward "
        "everyone else, as 'calibrate score --team' shows it."
    ]
    if close_seen:
        notes.append("~: not clearly apart from the team above (their 90% intervals overlap).")
    lines.extend(textwrap.fill(note, width=80) for note in notes)
    if out["unranked"]:
        shown = ", ".join(f"{row['team']} ({row['n']})" for row in out["unranked"])
        lines.append(f"Not ranked, under 30 tasks: {shown}")
    for short in out["shorter"]:
        span = f"from {short['since']}" if short["since"] else "up to"
        if short["until"]:
            span += f" to {short['until']}" if short["since"] else f" {short['until']}"
        weeks = f"{count(short['weeks'], 'week')} " if short["weeks"] is not None else ""
        lines.append(
            textwrap.fill(
                f"{short['team']}: its summaries cover only {weeks}({span}), fewer weeks "
                f"than this window ({window}).",
                width=80,
            )
        )
    if out["left_out"]:
        lines.append(
            f"Summaries left out {count(out['left_out'], 'person', 'people')} who opted out: "
            "their teams' figures are without them."
        )
    return "\n".join(lines)


# --- people ---------------------------------------------------------------------------


@click.command(name="people")
@click.option("--opt-out", "opt_out", is_flag=True, help="Leave the ranks others see.")
@click.option("--opt-in", "opt_in", is_flag=True, help="Be ranked again.")
@click.option("--person", metavar="NAME", help="Who opts out or in [default: you].")
@output_options
@pass_app
def people_command(app: App, opt_out, opt_in, person, json_output, csv_output) -> None:
    """Everyone in the database: teams, task counts, aliases, opt-outs.

    With --opt-out you leave the ranks: nobody else sees you ranked, while
    'calibrate rank' still shows you your own place. --opt-in undoes it. Both
    are for people with tasks here: someone known only from a team summary
    opts in or out in their own database, and its next summary carries it.
    """
    from calibrate.store import people

    exclusive("--opt-out and --opt-in exclude each other", opt_out, opt_in)
    if opt_out or opt_in:
        name = people.set_opt_out(app.conn, person or default_person(), opt_out)
        if opt_out:
            say(f"{name} opted out of ranks: others will not see {name} ranked.")
        else:
            say(f"{name} opted in: ranked again.")
        return
    if person is not None:
        raise click.UsageError("--person goes with --opt-out or --opt-in")
    conn = app.existing_conn()
    rows = people.list_people(conn) if conn is not None else []
    if rows and conn is not None:
        from calibrate.store.tasks import canonical_person

        rows = private_rows(rows, canonical_person(conn, default_person()))
    if json_output or csv_output:
        if csv_output:
            rows = [{**row, "aliases": ",".join(row["aliases"])} for row in rows]
        keys = (
            "person",
            "team",
            "tasks",
            "counted",
            "open",
            "last",
            "aliases",
            "opt_out",
            "summary",
        )
        emit(rows, [Column(k, k) for k in keys], json_output, csv_output)
        return
    if not rows:
        say("Nobody yet: log a task with 'calibrate add'.", err=True)
        return
    cells = []
    for row in rows:
        name = row["person"] + (f" ({', '.join(row['aliases'])})" if row["aliases"] else "")
        hidden = row["counted"] is None
        cells.append(
            {
                "person": name,
                "team": row["team"] or "-",
                "tasks": "-" if hidden else f"{row['tasks']:,}" if row["tasks"] else "summary",
                "counted": "-" if hidden else f"{row['counted']:,}",
                "open": "-" if hidden else f"{row['open']:,}",
                "last": row["last"] or "-",
                "ranks": "opted out" if row["opt_out"] else "yes",
            }
        )
    columns = [
        Column("person", "PERSON (ALIASES)"),
        Column("team", "TEAM", 12),
        Column("tasks", "TASKS", 7, ">"),
        Column("counted", "COUNTED", 7, ">"),
        Column("open", "OPEN", 4, ">"),
        Column("last", "LAST", 10),
        Column("ranks", "RANKED", 9),
    ]
    click.echo(render_table(cells, columns))


def private_rows(rows: list[dict], me: str) -> list[dict]:
    """The listing as others may see it: a person who opted out keeps their
    name, team and aliases (to be told apart, and aliased), and shows their
    figures (tasks, counted, open, last, summary weeks) to themselves alone."""
    hidden = dict.fromkeys(("tasks", "counted", "open", "last", "summary"))
    return [{**row, **hidden} if row["opt_out"] and row["person"] != me else row for row in rows]


# --- alias ----------------------------------------------------------------------------


@click.command()
@click.argument("name", required=False)
@click.argument("person", required=False)
@click.option("--remove", metavar="NAME", help="Forget the alias NAME.")
@click.option("--json", "json_output", is_flag=True, help="Output JSON.")
@pass_app
def alias(app: App, name, person, remove, json_output) -> None:
    """Join two names of one person: NAME becomes another name of PERSON.

    \b
    calibrate alias jdoe "Jane Doe"     # jdoe's tasks count as Jane Doe's
    calibrate alias                     # list the aliases
    calibrate alias --remove jdoe

    Tasks keep the name they were stored under; the alias maps it when they
    are read, so every command counts NAME's tasks as PERSON's ('score
    --person jdoe', 'rm --person jdoe' cover both names), and the alias
    travels with merges and exports like any other record.
    """
    from calibrate.store import people

    if remove is not None:
        if name or person:
            raise click.UsageError("--remove takes only the alias to forget")
        target = people.remove_alias(app.conn, remove)
        say(f"Removed alias {remove} (of {target})")
        return
    if name is None:
        conn = app.existing_conn()
        rows = people.list_aliases(conn) if conn is not None else []
        if json_output:
            click.echo(to_json(rows))
        elif rows:
            columns = [Column("alias", "ALIAS", 24), Column("person", "PERSON")]
            click.echo(render_table(rows, columns))
        else:
            say("No aliases yet: 'calibrate alias NAME PERSON' adds one.", err=True)
        return
    if person is None:
        raise click.UsageError("give NAME and PERSON: 'calibrate alias jdoe \"Jane Doe\"'")
    result = people.add_alias(app.conn, name, person)
    if json_output:
        click.echo(to_json(result))
        return
    say(
        f"{result['alias']} is now {result['person']}: {count(result['tasks'], 'task')} "
        f"stored under {result['alias']} count as {result['person']}'s"
    )
