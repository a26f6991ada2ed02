"""Twenty tags must not produce a false finding by chance (``score --by``).

On simulated null histories (drift over weeks, weeks full of exact hits, 20
tags that say nothing about the ratio, half of them used more in later weeks),
the share of histories with any "clearly different" tag stays at about q =
0.10 or less: Benjamini-Hochberg holds the family-wise error at q when every
group is null, and the within-week permutation test keeps drift from making
findings. 100 histories in ``make test``; 1,000 under ``make validate``
(``CALIBRATE_VALIDATE=full``) or ``CALIBRATE_RELIABILITY=full``.
"""

from __future__ import annotations

import os

import numpy as np

from calibrate import rules
from calibrate.stats.groups import benjamini_hochberg, permutation_test
from tests.test_misjudge import null_history
from tests.validation import registry

FULL = registry.FULL or os.environ.get("CALIBRATE_RELIABILITY") == "full"


def test_twenty_tags_on_null_data_rarely_produce_a_finding():
    """METRICS-style guarantee: the share of null histories with any "clearly
    different" tag is at most about q (Benjamini-Hochberg holds the family-wise
    error at q when every group is null)."""
    runs = 1000 if FULL else 100
    rng = np.random.default_rng(16)
    any_finding = 0
    for _ in range(runs):
        r, members, week = null_history(rng)
        tested = members.sum(axis=1) >= rules.GROUP_MIN_TASKS
        _, p = permutation_test(r, members[tested], week, seed=int(rng.integers(1 << 30)))
        any_finding += bool(benjamini_hochberg(p, rules.GROUP_FDR_Q)[1].any())
    share = any_finding / runs
    print(f"\n20 null tags, {runs} histories: {share:.3f} with a finding (q = 0.10)")
    # q plus the binomial 90% band's upper half for this many runs
    assert share <= rules.GROUP_FDR_Q + 1.645 * np.sqrt(0.09 / runs) + 1 / runs
