"""calibrate: get good at estimating your own work.

Log estimates and actuals, score calibration and promise-keeping, render a
weekly HTML trend report and compare percentile ranks.
"""

__version__ = "0.1.0"
