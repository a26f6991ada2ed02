"""The synthetic team history behind ``calibrate demo``, the tests and the benchmarks.

A year of a few teams' work, made to look like real estimate-versus-actual data
so that every score, chart and rank has something honest to show. The shape of
the data was fitted (``scripts/fit_demo.py``) to the public SiP dataset's
figures in METRICS.md:

- log ratios r = log2(actual / estimate) that are heavy-tailed (Student t), with
  overruns that shrink and spread that grows with the size of the task (small
  tasks overrun, big ones come in early, and big ones miss by more);
- a spike at exactly 1: Parkinson's law (work fills the estimate) and people
  writing down the estimate as the actual, commonest on small tasks;
- actuals rounded the way timesheets are (quarter hours, half or whole hours on
  big tasks), a share of them timed to the minute;
- people who differ in bias and skill, some of whom improve over the year (their
  spread shrinks week by week); in a cast of six or more, five people play a
  role each, so that every figure of ``score`` and the report has someone to
  show it (:data:`ROLES`): one overruns (a median ratio near 1.5x), one pads
  (near 0.5x, flagged), one improves clearly over the year, one lets promises
  slip (keep rate flagged) and one is new (15 finished tasks, a provisional
  score); the others make up for the roles' misses, so the whole cast keeps
  SiP's figures;
- ranges on about 30% of tasks, mostly too narrow (90% ranges hold the actual
  about two times in three, as untrained people's do: 55-70%);
- promises on 15-45% of each person's tasks, of effort and/or a date, most kept
  (about 85%), some broken, many exceeded; a few dropped tasks (3%), and a few
  open and started ones.

Times follow a working clock (9:00-17:00 UTC, Monday to Friday): done times are
spread evenly over whole ISO weeks ending now, and each task was logged, started
and finished in that order, at the pace of a few hours of work a day.

The data are synthetic: no real person's work is in them.

The cast is :mod:`.people`'s, the numbers :mod:`.numbers`' and the rows
:mod:`.writing`'s. Numbers are drawn with numpy, vectorised per person (a
loop over people, none over tasks); rows go in with ``executemany`` in
batches inside one transaction, generated a chunk of people at a time so
memory stays bounded for a million tasks.
"""

from __future__ import annotations

from calibrate.demo.numbers import ESTIMATE_GRID, TaskColumns, person_tasks
from calibrate.demo.people import (
    ROLE_WORDS,
    ROLES,
    TEAM_NAMES,
    DemoPerson,
    make_people,
    team_name,
)
from calibrate.demo.writing import (
    DEFAULT_PEOPLE,
    DEFAULT_TASKS_PER_WEEK,
    DEFAULT_WEEKS,
    SOURCE,
    build_demo_database,
    foreign_content,
    generate,
)

__all__ = [
    "DEFAULT_PEOPLE",
    "DEFAULT_TASKS_PER_WEEK",
    "DEFAULT_WEEKS",
    "ESTIMATE_GRID",
    "ROLES",
    "ROLE_WORDS",
    "SOURCE",
    "TEAM_NAMES",
    "DemoPerson",
    "TaskColumns",
    "build_demo_database",
    "foreign_content",
    "generate",
    "make_people",
    "person_tasks",
    "team_name",
]
