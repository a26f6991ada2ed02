"""The coverage suite prints one table at the end of the run (``make validate``)."""

from __future__ import annotations

from tests.validation import registry


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not registry.RESULTS:
        return
    if not registry.FULL:
        judged = [line for line in registry.RESULTS if line.counts]
        passed = sum(line.verdict == "pass" for line in judged)
        terminalreporter.write_line(
            f"coverage suite (quick rows): {passed} of {len(judged)} lines within their bands; "
            "the full table: make validate"
        )
        return
    terminalreporter.write_sep("=", "coverage suite, METRICS.md section 8")
    terminalreporter.write_line(registry.markdown(registry.RESULTS))
