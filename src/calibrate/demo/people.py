"""The demo's cast and the words of its tasks: names, teams, projects, and each
person's habits as an estimator (:class:`DemoPerson`, drawn by :func:`make_people`),
five of whom play a role (:data:`ROLES`: one overruns, one pads, one improves, one
lets promises slip, one is new) so that every figure has someone to show it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def _listed(text: str) -> tuple[str, ...]:
    """The comma-separated names of a block of text, in order."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


FIRST_NAMES = _listed(
    """
    Ana, Ben, Chloe, Dev, Elif, Farid, Greta, Hugo, Ines, Jonas, Kemi,
    Liam, Maya, Nikhil, Olga, Pablo, Quinn, Rosa, Sami, Tara, Umar, Vera,
    Wen, Ximena, Yusuf, Zoe, Amir, Bea, Carlos, Dana, Emil, Fatima, Goran,
    Hana, Ivan, Jia, Kofi, Lena, Marco, Noor
    """
)
LAST_NAMES = _listed(
    """
    Silva, Okafor, Martin, Patel, Yilmaz, Haddad, Berg, Laurent, Costa,
    Weber, Adeyemi, Murphy, Cohen, Rao, Ivanova, Garcia, Kim, Moreau,
    Nakamura, Singh, Khan, Novak, Chen, Lopez, Demir, Eriksen, Rossi, Dubois,
    Tanaka, Ahmed, Fischer, Nguyen, Santos, Kowalski, Ali, Park
    """
)
TEAM_NAMES = _listed(
    """
    Platform, Payments, Mobile, Growth, Data, Search, Web, Infra,
    Identity, Billing, Checkout, Insights, Messaging, Core API, Devices,
    Partners, Security, Support Tools, Onboarding, Catalog
    """
)
PROJECTS = _listed(
    """
    billing-v2, mobile-app, search, onboarding, data-pipeline, website,
    api-gateway, reporting, payments, auth, notifications, admin-console, checkout,
    analytics, infra-migration, design-system, partner-api, sync
    """
)
#: (verb, tag, weight on small tasks, weight on big tasks)
VERBS = (
    ("Fix", "bug", 0.26, 0.08),
    ("Add", "feature", 0.12, 0.14),
    ("Implement", "feature", 0.05, 0.18),
    ("Refactor", "refactor", 0.05, 0.10),
    ("Clean up", "refactor", 0.06, 0.02),
    ("Document", "docs", 0.07, 0.03),
    ("Write tests for", "test", 0.08, 0.06),
    ("Investigate", "spike", 0.09, 0.05),
    ("Upgrade", "ops", 0.05, 0.07),
    ("Migrate", "ops", 0.02, 0.10),
    ("Review", "review", 0.07, 0.02),
    ("Speed up", "perf", 0.04, 0.07),
    ("Harden", "security", 0.04, 0.08),
)
OBJECTS = _listed(
    """
    the login form, CSV export, password reset emails, search pagination,
    the billing webhook, the user settings page, API rate limiting, the nightly backup job,
    invoice PDF layout, dashboard filters, session timeout handling, the onboarding flow,
    the audit log, notification preferences, image upload, the release pipeline,
    database indexes, checkout error messages, SSO sign-in, push notifications,
    the admin user list, currency formatting, the sync worker, feature flags,
    the import wizard, email templates, the public API docs, the retry queue,
    timezone handling in reports, the mobile settings screen, search relevance,
    the partner sandbox, cache invalidation, the GDPR export, the status page,
    two-factor setup, the order history page, log retention, the CI runners,
    the pricing table
    """
)
EXTRA_TAGS = ("frontend", "backend", "infra", "customer", "urgent")


#: The roles of a cast big enough for them (:data:`ROLE_MIN_PEOPLE`, and
#: :data:`ROLE_MIN_WEEKS` of history), one person each, so that every figure of
#: the score and the report has someone to show it: what the bias column, the
#: trend, the padding flag, the keep-rate flag and a provisional score are for.
#: Real developers differ this much ([CESAW] per-person scores 33-78).
ROLES = ("optimist", "padder", "improver", "slipper", "newcomer")
ROLE_MIN_PEOPLE = len(ROLES) + 1
ROLE_MIN_WEEKS = 12
#: What each role's person does, in the words ``calibrate demo`` prints.
ROLE_WORDS = {
    "optimist": "overruns most tasks",
    "padder": "pads estimates",
    "improver": "improves over the year",
    "slipper": "lets promises slip",
    "newcomer": "is new (15 tasks)",
}
#: The newcomer's history: this many finished tasks over this many weeks.
NEWCOMER_TASKS = 15
NEWCOMER_WEEKS = 5.0


@dataclass(frozen=True)
class DemoPerson:
    """One synthetic developer: who they are and how they estimate.

    ``bias`` shifts their log ratios (a median ratio of 2^bias away from exact
    hits), ``skill`` scales their spread (below 1 is better), ``improve`` is
    how much of that spread they lose over the window, ``exact_tendency``
    scales how often they write the estimate down as the actual, and the rest
    say how much they work and how they use ranges and promises
    (``promise_pad``: promised effort over the estimate, in log2;
    ``date_slack``: working days a date promise allows before work starts;
    ``start_bias``: bias at the start of the window beyond ``bias``, fading to
    none by today).
    ``role`` is one of :data:`ROLES` or empty; ``finished_tasks`` fixes how
    many tasks they finished (``None``: drawn from their pace).
    """

    index: int
    name: str
    team: str
    projects: tuple[str, ...]
    bias: float
    skill: float
    improve: float
    exact_tendency: float
    timer_share: float
    activity: float
    active_weeks: float
    size_tilt: float
    range_share: float
    range_width: float
    promise_share: float
    promise_pad: float
    date_slack: float = 1.5
    start_bias: float = 0.0
    role: str = ""
    finished_tasks: int | None = None


#: How much the others make up for the roles' misses, times the share of the
#: cast with a role, so that the whole cast keeps SiP's figures (fitted with
#: ``scripts/fit_demo.py``): a little less spread, more exact hits, a little
#: less overrun.
SKILL_CATCH_UP = 0.2
EXACT_CATCH_UP = 1.0
BIAS_CATCH_UP = 0.4
#: Each role's habits, over the traits drawn for everyone.
ROLE_TRAITS: dict[str, dict[str, Any]] = {
    # Most tasks overrun, few are written as the estimate: a median ratio near 1.5x.
    "optimist": dict(bias=0.8, exact_tendency=0.25, skill=0.7, improve=0.0, size_tilt=0.0),
    # Estimates padded: most tasks come in well under, few exactly at the estimate.
    "padder": dict(bias=-1.0, exact_tendency=0.2, skill=0.75, improve=0.0),
    # Starts overrunning and wide of the mark and learns steadily: by today
    # calibrated and narrow. Works more than most.
    "improver": dict(
        bias=0.0,
        start_bias=0.6,
        skill=0.9,
        improve=1.6,
        activity=2.0,
        exact_tendency=0.3,
        size_tilt=-0.3,
    ),
    # Promises at the estimate, on tight dates, and overruns a little.
    "slipper": dict(
        bias=0.3,
        exact_tendency=0.6,
        improve=0.0,
        promise_share=0.45,
        promise_pad=0.0,
        date_slack=0.2,
    ),
    # Joined a few weeks ago.
    "newcomer": dict(active_weeks=NEWCOMER_WEEKS, finished_tasks=NEWCOMER_TASKS, improve=0.0),
}


def role_holders(team_of: np.ndarray, teams: int) -> dict[int, str]:
    """Who plays each role: role k goes to the first person without one in
    team k mod ``teams``, so the roles are spread over the teams (a padder is
    flagged against a team that does not pad)."""
    holders: dict[int, str] = {}
    for k, role in enumerate(ROLES):
        for team in [(k + step) % teams for step in range(teams)]:
            free = [i for i in np.flatnonzero(team_of == team).tolist() if i not in holders]
            if free:
                holders[free[0]] = role
                break
    return holders


def team_name(k: int) -> str:
    """The k-th team's name; past the vocabulary, numbered ("Platform 2")."""
    base = TEAM_NAMES[k % len(TEAM_NAMES)]
    return base if k < len(TEAM_NAMES) else f"{base} {k // len(TEAM_NAMES) + 1}"


def make_people(people: int, teams: int, weeks: int, seed: int) -> list[DemoPerson]:
    """Draw the cast: unique names, teams of near-equal size, and each person's traits."""
    rng = np.random.default_rng([seed, 0])
    pairs = len(FIRST_NAMES) * len(LAST_NAMES)
    picks = rng.permutation(max(pairs, people))[:people]
    team_names = [team_name(k) for k in range(teams)]
    team_projects = [
        tuple(rng.choice(PROJECTS, size=int(rng.integers(2, 4)), replace=False).tolist())
        for _ in range(teams)
    ]
    team_of = rng.permutation(np.arange(people) % teams)

    # Traits are stratified (one draw in each of n equal slices of their range,
    # shuffled), so that even a cast of twelve spans the range like a crowd does.
    def spread_over(low: float, high: float) -> np.ndarray:
        return low + (high - low) * (rng.permutation(people) + rng.random(people)) / people

    bias = spread_over(-0.3, 0.35)  # median ratios from 0.81x to 1.27x
    skill = np.exp(spread_over(np.log(0.72), np.log(1.4)))
    exact_tendency = np.exp(spread_over(np.log(0.6), np.log(1.6)))
    improves = spread_over(0.0, 1.0) < 0.35
    improve = rng.uniform(0.3, 0.55, people)
    newcomer = (spread_over(0.0, 1.0) < 0.1) & (weeks > 8)
    active_weeks = rng.uniform(min(5, weeks), min(20, weeks), people)
    traits = dict(
        activity=spread_over(0.6, 1.4),
        timer_share=spread_over(0.0, 0.4),
        size_tilt=spread_over(-0.3, 0.3),
        range_share=spread_over(0.12, 0.48),
        range_width=spread_over(0.45, 0.95),
        promise_share=spread_over(0.15, 0.45),
        promise_pad=spread_over(0.6, 1.4),
    )
    roles = (
        role_holders(team_of, teams)
        if people >= ROLE_MIN_PEOPLE and weeks >= ROLE_MIN_WEEKS
        else {}
    )
    cast = []
    for i in range(people):
        pick = int(picks[i])
        if pick < pairs:
            name = f"{FIRST_NAMES[pick % len(FIRST_NAMES)]} {LAST_NAMES[pick // len(FIRST_NAMES)]}"
        else:  # more people than name pairs: number the rest
            name = f"{FIRST_NAMES[pick % len(FIRST_NAMES)]} {pick // len(FIRST_NAMES)}"
        drawn: dict[str, Any] = dict(
            bias=float(bias[i]),
            skill=float(skill[i]),
            improve=float(improve[i]) if improves[i] else 0.0,
            exact_tendency=float(exact_tendency[i]),
            active_weeks=float(active_weeks[i]) if newcomer[i] else float(weeks),
            **{key: float(values[i]) for key, values in traits.items()},
        )
        role = roles.get(i, "")
        if roles and newcomer[i]:  # the role's newcomer is the only one
            drawn["active_weeks"] = float(weeks)
        if role:
            drawn |= ROLE_TRAITS[role]
        elif roles:  # the others make up for the roles' misses, as a team keeps SiP's figures
            drawn["skill"] *= 1.0 - SKILL_CATCH_UP * len(roles) / people
            drawn["exact_tendency"] *= 1.0 + EXACT_CATCH_UP * len(roles) / people
            drawn["bias"] -= BIAS_CATCH_UP * len(roles) / people
        cast.append(
            DemoPerson(
                index=i,
                name=name,
                team=team_names[team_of[i]],
                projects=team_projects[team_of[i]],
                role=role,
                **drawn,
            )
        )
    return cast
