"""Small conversions the statistics share: inputs to flat arrays, outputs to
plain Python numbers (``None`` for NaN)."""

from __future__ import annotations

import math

import numpy as np


def floats(values) -> np.ndarray:
    """Anything ``np.asarray`` takes, as a flat float array."""
    return np.asarray(values, dtype=float).reshape(-1)


def dates(values) -> np.ndarray:
    """Dates (or ISO text, or NaT) as a flat ``datetime64[D]`` array."""
    return np.asarray(values, dtype="datetime64[D]").reshape(-1)


def optional(value) -> float | None:
    """A Python float, or ``None`` for NaN / missing."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value
