"""The demo's cast and the words of its tasks: names, teams, projects, and each
person's habits as an estimator (:class:`DemoPerson`, drawn by :func:`make_people`)."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class DemoPerson:
    """One synthetic developer: who they are and how they estimate.

    ``bias`` shifts their log ratios (a median ratio of 2^bias), ``skill``
    scales their spread (below 1 is better), ``improve`` is how much of that
    spread they lose over the window, and the rest say how they use ranges and
    promises.
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
    cast = []
    for i in range(people):
        pick = int(picks[i])
        if pick < pairs:
            name = f"{FIRST_NAMES[pick % len(FIRST_NAMES)]} {LAST_NAMES[pick // len(FIRST_NAMES)]}"
        else:  # more people than name pairs: number the rest
            name = f"{FIRST_NAMES[pick % len(FIRST_NAMES)]} {pick // len(FIRST_NAMES)}"
        cast.append(
            DemoPerson(
                index=i,
                name=name,
                team=team_names[team_of[i]],
                projects=team_projects[team_of[i]],
                bias=float(bias[i]),
                skill=float(skill[i]),
                improve=float(improve[i]) if improves[i] else 0.0,
                exact_tendency=float(exact_tendency[i]),
                active_weeks=float(active_weeks[i]) if newcomer[i] else float(weeks),
                **{key: float(values[i]) for key, values in traits.items()},
            )
        )
    return cast
