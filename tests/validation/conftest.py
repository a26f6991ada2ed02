"""The coverage suite prints one table at the end of the run (``make validate``)."""

from __future__ import annotations

from tests.validation import registry


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not registry.RESULTS:
        return
    size = "full" if registry.FULL else "quick (CALIBRATE_VALIDATE=full for the full run)"
    terminalreporter.write_sep("=", f"coverage suite, METRICS.md section 8: {size}")
    terminalreporter.write_line(registry.markdown(registry.RESULTS))
