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


def summarize(samples: Iterable[float], scale: float = 1e-6) -> dict[str, float]:
    """Median, quartiles and range of *samples* multiplied by *scale* (ns to ms by default)."""
    ordered = sorted(samples)
    return {
        "median": round(quantile(ordered, 0.5) * scale, 4),
        "p25": round(quantile(ordered, 0.25) * scale, 4),
        "p75": round(quantile(ordered, 0.75) * scale, 4),
        "min": round(ordered[0] * scale, 4),
        "max": round(ordered[-1] * scale, 4),
    }


def format_ms(ms: float) -> str:
    """A duration in ms, to 0.1 ms, or 0.01 ms under 10 ms."""
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}"


def spread(stats: dict[str, float]) -> str:
    """A :func:`summarize` result as "median ±half the interquartile range"."""
    return f"{format_ms(stats['median'])} ±{format_ms((stats['p75'] - stats['p25']) / 2)}"
