"""``[tool.importguard.budgets]``: read, and checked against ``bench``'s medians or one ``check`` run.

The table, in the nearest ``pyproject.toml`` (or the file ``IMPORTGUARD_CONFIG``
names), maps a module to a time: ``"myapp" = "150ms"`` (units ms, s, us). A bad
value is an error (exit 2), never skipped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from importguard import _config
from importguard._cli.status import UsageError


def load_budgets(cwd: str) -> tuple[dict[str, int], str | None]:
    """``[tool.importguard.budgets]`` of the project at *cwd*: ({module: ns}, the file), or ({}, None).

    Raises :class:`UsageError` for a bad entry: a budget check that skipped a
    budget it could not read would pass what it should fail.
    """
    explicit = os.environ.get("IMPORTGUARD_CONFIG")
    path = os.path.join(cwd, explicit) if explicit else _config.find_pyproject(cwd)
    if path is None:
        return {}, None
    problems: list[_config.ConfigProblem] = []
    table = _config.read_table(path, explicit is not None, problems)
    for problem in problems:
        sys.stderr.write(f"{problem} (budgets are not checked)\n")
    raw = table.get("budgets") if table else None
    if raw is None:
        return {}, path
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: [tool.importguard] budgets must be a table; expected {_config._ACCEPTS['budgets']}.")
    budgets, wrong = _config.budget_entries(raw)
    if wrong:
        lines = [
            f"{path}: [tool.importguard.budgets] {module!r} = {value!r} is not valid ({why})"
            for module, value, why in wrong
        ]
        raise UsageError("; ".join(lines) + f"; expected {_config._ACCEPTS['budgets']}.")
    return budgets, path


def check_budgets(budgets: dict[str, int], results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each budget against the median cumulative time of its module, in every target that imports it."""
    out = []
    for module, budget_ns in sorted(budgets.items()):
        budget_ms = budget_ns / 1e6
        for result in results:
            stats = result["statistics"]["modules"].get(module)
            if stats is None:
                continue
            median = stats["cumulative_ms"]["median"]
            out.append(
                {
                    "module": module,
                    "budget_ms": budget_ms,
                    "target": result["target"],
                    "median_cumulative_ms": median,
                    "exceeded": median > budget_ms,
                }
            )
    return out


def budgets_in_one_run(budgets: dict[str, int], imports: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each budget against the cumulative time of its module in one report (``importguard check``).

    ``cumulative_ms`` is None for a module the run did not load.
    """
    measured: dict[str, int] = {}
    for rec in imports:
        if rec["status"] == "ok" and rec["duplicate_of"] is None and rec["duration_ns"] is not None:
            measured[rec["name"]] = measured.get(rec["name"], 0) + rec["duration_ns"]
    out = []
    for module, budget_ns in sorted(budgets.items()):
        took = measured.get(module)
        out.append(
            {
                "module": module,
                "budget_ms": budget_ns / 1e6,
                "cumulative_ms": None if took is None else round(took / 1e6, 4),
                "exceeded": took is not None and took > budget_ns,
            }
        )
    return out
