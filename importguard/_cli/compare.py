"""``importguard compare``: noise-aware regression report between two bench results.

Reads two ``importguard bench --json`` files (schema ``importguard.bench/1``)
and, for every target both measured, compares each module's cumulative time
and the total import time run by run.

When a change counts
====================

Each module gets an allowance: the larger of ``--min-ms`` (default 1 ms;
below that a change is not worth anyone's time) and ``--threshold`` percent
of its base median (default 10 %; this absorbs what no statistic over one
bench can see, such as the machine being a little busier on the day the other
bench ran). A module is *slower* only when the runs show, with a one-sided
Mann-Whitney U test at ``--alpha`` (default 0.01), that NEW exceeds BASE by
more than the allowance: the test is run on NEW's times minus the allowance
against BASE's. *Faster* is the mirror image. So the point estimate crossing
the allowance is not enough; the whole spread of the runs has to be clear of
it, and a change that is exactly at the allowance is called noise.

Why Mann-Whitney: import times are right-skewed with occasional outliers (a
page-cache miss, a preempted process), so a t-test's normality assumption
does not hold and one outlier can swing a mean; the U test compares ranks
only, needs no distribution, and at the ~10 runs a bench takes it is exact
(the null distribution is enumerated; with ties or more than 50 runs a side,
the normal approximation with tie correction is used). Rules considered and
not taken: "the medians differ by more than the larger interquartile range"
has no error rate one can state, and at 10 runs the IQR is itself noisy;
"p < alpha against no change, and the medians differ by more than the
allowance" flags a machine that is 12 % busier during one bench than the
other whenever the runs are tight (seen in testing: an unchanged package,
+1.0 ms, +13 %, p 0.0001), because it tests for *any* difference.

What no statistic can remove is a change in the machine between the two
benches; for a trustworthy gate, run BASE and NEW in the same job, one after
the other. At alpha 0.01 the test needs at least 5 runs a side to be able to
say anything (the smallest one-sided p of 4 against 4 runs is 0.014); with
fewer, compare refuses (exit 2) rather than pass everything.

Garbage collection lands in whichever module is running when it triggers,
and moves between runs: ``--gc exclude`` judges every time without the
collector's time inside it (``bench``'s samples carry it apart).

Each module is one test, so a target's modules are one family: a module is
slower only when its test stands under Holm's correction at ``--alpha``
(the smallest p against alpha / M for M modules, the next against
alpha / (M - 1), ...), which keeps the chance that any unchanged module is
flagged below alpha; uncorrected, a bench of 25 modules on a noisy machine
flagged one by chance now and then. The total is one test of its own, at
``--alpha``. With the default 10 runs a side the smallest p is 5.4e-6, enough
for a target of up to ~1,800 modules; with fewer runs a side, compare says
when no single module could be flagged.

A module only NEW loads is *new*, one only BASE loads is *gone*; neither is a
regression by itself (its cost shows in its importer's cumulative time and in
the total, which are judged). Cumulative time is judged, as budgets are: it
is what a user's startup pays; since a slower module also makes its importers
slower, each slower module's self-time change is shown too, which points at
the one that changed. Exit status: 1 when a module or the total of any target
is slower, 0 otherwise, 2 on bad input (not a bench JSON, another schema
version, no target in common, too few runs).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from importguard import __version__
from importguard._cli.bench import SCHEMA, module_times, total_time
from importguard._cli.stats import format_ms, quantile
from importguard._cli.status import EXIT_FOUND, EXIT_OK, UsageError

HELP = "compare two bench results; exit 1 on a regression"
DESCRIPTION = (
    "Compare two `importguard bench --json` results. A module counts as slower only when the change exceeds "
    "the absolute and the relative allowance and the spread of the runs. Exit 1 on a regression."
)

_EXACT_LIMIT = 50


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``compare``'s options on *parser*."""
    parser.add_argument("base", metavar="BASE.json", help="the bench result to compare against")
    parser.add_argument("new", metavar="NEW.json", help="the bench result of the change")
    parser.add_argument(
        "--threshold",
        type=float,
        default=10.0,
        metavar="PCT",
        help="relative allowance: a change must exceed this percentage of the base median (default 10)",
    )
    parser.add_argument(
        "--min-ms",
        type=float,
        default=1.0,
        metavar="MS",
        help="absolute allowance: a change must exceed this many milliseconds (default 1)",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.01,
        help="significance level of the one-sided Mann-Whitney U test that the runs moved by "
        "more than the allowance (default 0.01)",
    )
    parser.add_argument("--top", type=int, default=20, metavar="N", help="modules shown per list (default 20)")
    parser.add_argument(
        "--gc",
        choices=("include", "exclude"),
        default="include",
        help="judge times with the garbage collector's time inside imports (include, the default) "
        "or without it (exclude): a collection lands in whichever module is running, and "
        "moves between runs",
    )


# -- the test -------------------------------------------------------------------


def _gaussian_binomial(n: int, m: int) -> list[int]:
    """Coefficients of the Gaussian binomial [n+m choose n]_q: entry u counts the
    orderings of n against m distinct values in which U equals u."""
    poly = [1]
    for i in range(1, n + 1):
        # multiply by (1 - q^(m+i)) ...
        shift = m + i
        grown = poly + [0] * shift
        for k in range(len(poly)):
            grown[k + shift] -= poly[k]
        # ... and divide by (1 - q^i), which divides exactly.
        for k in range(i, len(grown)):
            grown[k] += grown[k - i]
        while len(grown) > 1 and grown[-1] == 0:
            grown.pop()
        poly = grown
    return poly


def mann_whitney_p(base: Sequence[float], new: Sequence[float]) -> float:
    """One-sided p-value of the Mann-Whitney U test against the hypothesis that
    *new* is not stochastically greater than *base* (small: *new* is larger)."""
    n, m = len(base), len(new)
    if not n or not m:
        return 1.0
    u = 0.0
    for x in new:
        for y in base:
            u += 1.0 if x > y else 0.5 if x == y else 0.0
    pooled = sorted([*base, *new])
    ties = [pooled.count(v) for v in set(pooled)]
    if all(t == 1 for t in ties) and n <= _EXACT_LIMIT and m <= _EXACT_LIMIT:
        counts = _gaussian_binomial(n, m)
        return sum(counts[int(u) :]) / math.comb(n + m, n)
    size = n + m
    variance = n * m / 12 * ((size + 1) - sum(t**3 - t for t in ties) / (size * (size - 1)))
    if variance <= 0:
        return 1.0
    z = (u - n * m / 2 - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))


def smallest_p(n: int, m: int) -> float:
    """The smallest one-sided p the exact U test can give for *n* against *m* runs."""
    return 1 / math.comb(n + m, n) if n and m else 1.0


def runs_needed(alpha: float) -> int:
    """Runs a side that the U test needs to reach p < *alpha* at all."""
    n = 1
    while smallest_p(n, n) >= alpha and n < 1000:
        n += 1
    return n


# -- reading --------------------------------------------------------------------


def load(path: str) -> dict[str, Any]:
    """A bench result, checked enough to compare; :class:`UsageError` with the reason otherwise."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(
            f"{path} is not a bench result (not UTF-8 text); make one with importguard bench --json OUT"
        ) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path} is not JSON ({exc}); expected the output of importguard bench --json OUT") from None
    schema = data.get("schema") if isinstance(data, dict) else None
    if not isinstance(schema, str) or not schema.startswith("importguard."):
        raise UsageError(
            f'{path} is not an importguard bench result (no "schema": "{SCHEMA}"); '
            "make one with importguard bench --json OUT"
        )
    if schema.startswith("importguard.report/"):
        raise UsageError(
            f"{path} is an import report ({schema}), not a bench result; make one with importguard bench --json OUT"
        )
    if schema != SCHEMA:
        raise UsageError(
            f"{path} has schema {schema}; importguard {__version__} compares {SCHEMA} only "
            "(bench both sides with the same importguard version)"
        )
    try:
        for target in data["targets"]:
            for sample in target["samples"]:
                if not isinstance(sample["total_ns"], int) or not isinstance(sample["modules"], dict):
                    raise TypeError
                for times in sample["modules"].values():
                    if not isinstance(times["cumulative_ns"], int) or not isinstance(times["self_ns"], int):
                        raise TypeError
            if not isinstance(target["kind"], str) or not isinstance(target["target"], str):
                raise TypeError
    except (KeyError, TypeError, AttributeError):
        raise UsageError(
            f"{path} says {SCHEMA} but is not shaped like one (samples with total_ns and "
            "modules of self_ns and cumulative_ns per target)"
        ) from None
    return data  # type: ignore[no-any-return]


# -- comparing --------------------------------------------------------------------


def _median_ms(samples: Sequence[int]) -> float:
    return quantile(sorted(samples), 0.5) / 1e6


def judge(base: Sequence[int], new: Sequence[int], threshold: float, min_ms: float, alpha: float) -> dict[str, Any]:
    """Compare two sets of per-run times (ns): the medians, the change, p, and the verdict
    (``slower``, ``faster`` or ``same``).

    ``p`` is that of the direction the medians moved: how likely runs at least
    this far beyond the allowance would be if the change were within it.
    """
    base_ms, new_ms = _median_ms(base), _median_ms(new)
    change = new_ms - base_ms
    margin = max(min_ms, base_ms * threshold / 100) * 1e6
    slower_p = mann_whitney_p(base, [x - margin for x in new])
    faster_p = mann_whitney_p([x + margin for x in new], base)
    verdict = "slower" if slower_p < alpha else "faster" if faster_p < alpha else "same"
    return {
        "base_ms": base_ms,
        "new_ms": new_ms,
        "change_ms": change,
        "change_pct": 100 * change / base_ms if base_ms else math.inf,
        "p": slower_p if change >= 0 else faster_p,
        "verdict": verdict,
        "p_slower": slower_p,
        "p_faster": faster_p,
    }


def holm(pvalues: dict[str, float], alpha: float) -> set[str]:
    """The names whose test stands at family-wise error *alpha* (Holm-Bonferroni).

    Sorted by p, the k-th smallest (from 0) stands while it and every smaller
    one are below alpha / (m - k); the first that is not ends the list.
    """
    standing: set[str] = set()
    ordered = sorted(pvalues.items(), key=lambda item: item[1])
    for k, (name, p) in enumerate(ordered):
        if p >= alpha / (len(ordered) - k):
            break
        standing.add(name)
    return standing


def _per_module(target: dict[str, Any], which: int, gc: str = "include") -> dict[str, list[int]]:
    """Per module, its self (*which* 0) or cumulative (1) time in each run."""
    out: dict[str, list[int]] = {}
    for sample in target["samples"]:
        for name, times in sample["modules"].items():
            out.setdefault(name, []).append(module_times(times, gc)[which])
    return out


def compare_target(
    base: dict[str, Any], new: dict[str, Any], threshold: float, min_ms: float, alpha: float, gc: str = "include"
) -> dict[str, Any]:
    """Every module of one target, and its total, judged."""
    base_cum, new_cum = _per_module(base, 1, gc), _per_module(new, 1, gc)
    base_self, new_self = _per_module(base, 0, gc), _per_module(new, 0, gc)
    modules = {}
    for name in sorted(set(base_cum) & set(new_cum)):
        verdict = judge(base_cum[name], new_cum[name], threshold, min_ms, alpha)
        verdict["self_change_ms"] = _median_ms(new_self[name]) - _median_ms(base_self[name])
        modules[name] = verdict
    # One test per module: at alpha each, a bench of 25 unchanged modules would
    # flag one by chance in about 1 compare in 5 on a noisy machine (seen: `re`
    # on a loaded CI machine). Holm keeps the chance of any false flag among a
    # target's modules below alpha, each direction on its own.
    slower = holm({name: v["p_slower"] for name, v in modules.items()}, alpha)
    faster = holm({name: v["p_faster"] for name, v in modules.items()}, alpha)
    for name, verdict in modules.items():
        verdict["verdict"] = "slower" if name in slower else "faster" if name in faster else "same"
    return {
        "modules": modules,
        "new": {name: _median_ms(new_cum[name]) for name in set(new_cum) - set(base_cum)},
        "gone": {name: _median_ms(base_cum[name]) for name in set(base_cum) - set(new_cum)},
        "total": judge(
            [total_time(s, gc) for s in base["samples"]],
            [total_time(s, gc) for s in new["samples"]],
            threshold,
            min_ms,
            alpha,
        ),
        "counts": (len(base["samples"]), len(new["samples"])),
    }


# -- output -----------------------------------------------------------------------


def _pct(value: float) -> str:
    return "new" if math.isinf(value) else f"{value:+.0f}%"


def _p(value: float) -> str:
    return f"{value:.1g}" if value < 0.001 else f"{value:.3f}"


def render(label: str, result: dict[str, Any], top: int) -> list[str]:
    """The report of one target."""
    lines = [f"{label} ({result['counts'][0]} vs {result['counts'][1]} runs):"]
    for kind in ("slower", "faster"):
        rows = [(name, v) for name, v in result["modules"].items() if v["verdict"] == kind]
        rows.sort(key=lambda row: -abs(row[1]["change_ms"]))
        lines.append(f"  {kind} ({len(rows)})" + (":" if rows else ""))
        if rows:
            lines.append(f"    {'base ms':>9} {'new ms':>9} {'change':>18} {'p':>7} {'self change':>12}  module")
        for name, v in rows[:top]:
            change = f"{v['change_ms']:+.1f} ms ({_pct(v['change_pct'])})"
            lines.append(
                f"    {format_ms(v['base_ms']):>9} {format_ms(v['new_ms']):>9} {change:>18} "
                f"{_p(v['p']):>7} {v['self_change_ms']:>+9.1f} ms  {name}"
            )
        if len(rows) > top:
            lines.append(f"    ... {len(rows) - top} more")
    for kind in ("new", "gone"):
        items = sorted(result[kind].items(), key=lambda kv: (-kv[1], kv[0]))
        shown = ", ".join(f"{name} {format_ms(ms)} ms" for name, ms in items[:top])
        more = f", ... {len(items) - top} more" if len(items) > top else ""
        lines.append(f"  {kind} ({len(items)})" + (f": {shown}{more}" if items else ""))
    total = result["total"]
    word = {"slower": "SLOWER", "faster": "faster", "same": "no change beyond the noise"}[total["verdict"]]
    lines.append(
        f"  total import time: {format_ms(total['base_ms'])} -> {format_ms(total['new_ms'])} ms "
        f"({total['change_ms']:+.1f} ms, {_pct(total['change_pct'])}, p {_p(total['p'])}): {word}"
    )
    return lines


def main(args: argparse.Namespace) -> int:
    """Run ``importguard compare``; return the exit status."""
    if args.threshold < 0 or args.min_ms < 0 or not 0 < args.alpha < 1 or args.top < 1:
        raise UsageError("--threshold and --min-ms must be 0 or more, --alpha between 0 and 1, --top 1 or more")
    base, new = load(args.base), load(args.new)
    if args.gc == "exclude":
        for path, data in ((args.base, base), (args.new, new)):
            if any("gc_total_ns" not in s for t in data["targets"] for s in t["samples"]):
                raise UsageError(
                    f"{path} has no garbage-collection times (an older importguard's bench); "
                    "bench again, or compare with --gc include"
                )
    keyed_base = {(t["kind"], t["target"]): t for t in base["targets"]}
    keyed_new = {(t["kind"], t["target"]): t for t in new["targets"]}
    common = [key for key in keyed_base if key in keyed_new]
    if not common:
        raise UsageError(
            f"{args.base} and {args.new} measured no target in common "
            f"({', '.join(t for _, t in keyed_base)} vs {', '.join(t for _, t in keyed_new)})"
        )
    for key in common:
        n, m = len(keyed_base[key]["samples"]), len(keyed_new[key]["samples"])
        if smallest_p(n, m) >= args.alpha:
            need = runs_needed(args.alpha)
            raise UsageError(
                f"{key[1]}: {n} against {m} runs cannot show any difference at p < {args.alpha:g}; "
                f"bench with --runs {need} or more on both sides"
            )
    out = [
        f"importguard compare: {args.base} (Python {base['python']}) -> {args.new} (Python {new['python']})",
        f"a change counts when the runs show it beyond {args.min_ms:g} ms and {args.threshold:g}% of the base "
        f"median (one-sided Mann-Whitney U, p < {args.alpha:g}, Holm-corrected over each target's modules); "
        "times are median cumulative ms, "
        + ("garbage collection included" if args.gc == "include" else "garbage collection left out (--gc exclude)"),
    ]
    if base["python"] != new["python"]:
        out.append(f"warning: the two benches ran different Pythons ({base['python']} and {new['python']})")
    regressions = []
    for key in common:
        result = compare_target(keyed_base[key], keyed_new[key], args.threshold, args.min_ms, args.alpha, args.gc)
        label = key[1] if key[0] == "module" else f"command: {key[1]}"
        out.append("")
        out.extend(render(label, result, args.top))
        family = len(result["modules"])
        if family and smallest_p(*result["counts"]) >= args.alpha / family:
            out.append(
                f"  note: {result['counts'][0]} against {result['counts'][1]} runs cannot flag any single one "
                f"of {family} modules (Holm needs p < {args.alpha / family:.2g}); only the total is judged. "
                "Bench with more --runs on both sides to judge modules"
            )
        slower = [n for n, v in result["modules"].items() if v["verdict"] == "slower"]
        if slower or result["total"]["verdict"] == "slower":
            regressions.append((label, slower, result["total"]["verdict"] == "slower"))
    only = [f"{t} (only in {args.base})" for k, t in keyed_base if k not in keyed_new and (k, t) not in common] + [
        f"{t} (only in {args.new})" for k, t in keyed_new if (k, t) not in keyed_base
    ]
    if only:
        out.append("")
        out.append("not compared: " + "; ".join(only))
    out.append("")
    if regressions:
        parts = [
            f"{label}: {len(slower)} module{'s' if len(slower) != 1 else ''} slower"
            + (", total slower" if total else "")
            for label, slower, total in regressions
        ]
        out.append("importguard compare: REGRESSION: " + "; ".join(parts))
    else:
        out.append("importguard compare: no regression")
    sys.stdout.write("\n".join(out) + "\n")
    return EXIT_FOUND if regressions else EXIT_OK
