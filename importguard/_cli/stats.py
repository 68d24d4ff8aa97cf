"""The order statistics ``bench``, ``compare`` and ``advise`` report, and how they print them.

Raw samples are integer nanoseconds; statistics are milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def quantile(ordered: Sequence[float], q: float) -> float:
    """The *q* quantile of sorted *ordered*, by linear interpolation between order statistics."""
    if not ordered:
        raise ValueError("no samples")
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (pos - low))


def summarize(samples: Iterable[float], unit: float = 1e6) -> dict[str, float]:
    """Median, quartiles and range of *samples* divided by *unit* (ns to ms by default).

    Dividing, not multiplying by 1e-6: division is correctly rounded, so a statistic equals
    ``round(ns / 1e6, 4)`` as the report and budgets compute it (28707550 * 1e-6 rounds to
    28.7075, 28707550 / 1e6 to 28.7076).
    """
    ordered = sorted(samples)
    return {
        "median": round(quantile(ordered, 0.5) / unit, 4),
        "p25": round(quantile(ordered, 0.25) / unit, 4),
        "p75": round(quantile(ordered, 0.75) / unit, 4),
        "min": round(ordered[0] / unit, 4),
        "max": round(ordered[-1] / unit, 4),
    }


def format_ms(ms: float) -> str:
    """A duration in ms, to 0.1 ms, or 0.01 ms under 10 ms."""
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}"


def spread(stats: dict[str, float]) -> str:
    """A :func:`summarize` result as "median ±half the interquartile range"."""
    return f"{format_ms(stats['median'])} ±{format_ms((stats['p75'] - stats['p25']) / 2)}"
