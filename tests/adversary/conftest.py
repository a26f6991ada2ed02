"""The adversary suite (issue 15): hostile input and places, by class.

Each file closes one class of the issue: output paths, privacy, terminal
control sequences, hostile files, values that bypass validation, resource
exhaustion, sizes and unwritable places. Small by default, so that ``make
test`` stays quick; ``CALIBRATE_RELIABILITY=full`` (``make reliability``) runs
the sizes docs/GUARANTEES.md reports, with fresh random examples where
hypothesis generates them. The helpers are the reliability suite's
(``tests/reliability/faults.py``).
"""

from __future__ import annotations

from tests.reliability.conftest import invoke, seeded  # noqa: F401 (the same fixtures)
from tests.reliability.faults import FULL

#: ``full`` in ``make reliability``: the sizes GUARANTEES.md reports.
full = FULL
