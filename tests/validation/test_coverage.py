"""The coverage suite (METRICS.md section 8), one test per row of the registry.

``make test`` runs the quick rows at their quick sizes; ``make validate``
(``CALIBRATE_VALIDATE=full``) every row at full size, and prints the table.
Rows on the real data skip where ``../shared/data`` is absent.
"""

from __future__ import annotations

import pytest

from tests.validation import realdata, registry

ROWS = registry.load_rows()
CONTEXT = registry.Context()


@pytest.mark.realdata
@pytest.mark.parametrize("row", ROWS, ids=[row.key for row in ROWS])
def test_row_holds_its_band(row):
    if not registry.FULL and not row.quick:
        pytest.skip("full size only: make validate (CALIBRATE_VALIDATE=full)")
    if not realdata.present():
        pytest.skip(f"public datasets not present at {realdata.datasets.DATA}")
    lines = [registry.judge(line) for line in row.build(CONTEXT)]
    registry.RESULTS.extend(lines)
    assert lines, "the row printed nothing"
    failed = [line for line in lines if line.verdict == "FAIL"]
    assert not failed, registry.markdown(failed)
