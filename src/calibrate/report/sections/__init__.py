"""The report's sections, one module each: a function ``(ReportData) -> Section``.

A section imports :mod:`calibrate.report.model`, :mod:`calibrate.report.data`
and library modules only: never another section nor :mod:`calibrate.report`.
The order of the report is :data:`calibrate.report.SECTIONS`.
"""
