"""Numbers as the project shows and averages them: one formatter, one mean.

:func:`format_number` is how every table, report and command prints a score;
:func:`mean_of` is how every aggregate (run summaries, submissions, leaderboard checks)
averages per-image scores, with one rule for the values a metric can return:

* NaN (a score that is undefined for that image) is left out;
* ``inf`` (PSNR of identical images) is kept: the mean is ``inf`` (or ``-inf``), and
  ``nan`` when both signs occur;
* otherwise the exactly rounded sum (``math.fsum``) divided by the count, so the mean
  does not depend on the order of the rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def format_number(value: float | None, digits: int = 4, *, missing: str = "–") -> str:
    """Fixed-point text of a score.

    Args:
        value: the number; ``None`` or NaN is missing.
        digits: decimal places.
        missing: text for a missing value.

    Returns:
        ``f"{value:.{digits}f}"``, ``"inf"`` / ``"-inf"``, or ``missing``.

    Example:
        >>> format_number(30.123456, 2), format_number(float("inf")), format_number(None)
        ('30.12', 'inf', '–')
    """
    if value is None or math.isnan(value):
        return missing
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"


def mean_of(values: Iterable[float]) -> float:
    """Mean of per-image scores: NaN left out, ``inf`` kept (see the module rule).

    Returns:
        The mean; NaN when no value is left or when ``inf`` and ``-inf`` both occur.

    Example:
        >>> mean_of([1.0, float("nan"), 2.0]), mean_of([float("inf"), 30.0])
        (1.5, inf)
    """
    vals = [float(v) for v in values if not math.isnan(v)]
    if not vals:
        return math.nan
    pos, neg = math.inf in vals, -math.inf in vals
    if pos or neg:
        return math.nan if pos and neg else (math.inf if pos else -math.inf)
    try:
        return math.fsum(vals) / len(vals)
    except OverflowError:  # values near the float maximum: divide first
        return math.fsum(v / len(vals) for v in vals)
