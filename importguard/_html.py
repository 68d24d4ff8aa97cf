"""The HTML report: one self-contained file, readable offline in any browser.

Runs from the CLI or at exit, never on the import path. The page's stylesheet
and script are files beside this module, ``htmlfiles/report.css``,
``report.js`` and ``advice.css``, inlined into every page.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

DATA_ID = "importguard-data"


def _asset(name: str) -> str:
    """A file of ``htmlfiles/`` (package data), read through this module's loader.

    The loader reads a directory and a zip archive alike, with nothing to
    import: ``importlib.resources`` would add some 40 modules to a program
    that writes its HTML report at exit. ASCII only, like the whole page.
    """
    loader: Any = __spec__.loader
    data: bytes = loader.get_data(os.path.join(os.path.dirname(__file__), "htmlfiles", name))
    return data.decode("ascii")


# The page's stylesheet and script, each on its own line after its tag. The
# script is pinned by the hash of exactly this text.
_CSS = "\n" + _asset("report.css")
_JS = "\n" + _asset("report.js")

# A hash-pinned script-src blocks every script but ours, including inline
# event handlers, should report text ever reach the DOM as markup.
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-"
    + base64.b64encode(hashlib.sha256(_JS.encode("ascii")).digest()).decode("ascii")
    + "'"
)

_HEAD = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>importguard report</title>
<style>{_CSS}</style>
</head>
<body>
<div id="app"><noscript>This report needs JavaScript to draw the import tree.</noscript></div>
<script type="application/json" id="{DATA_ID}">"""

_TAIL = f"""</script>
<script>{_JS}</script>
</body>
</html>
"""

# In a <script> element only "</script" (and "<!--") can end or derail the
# data, so "<" must never appear raw; ">" and "&" are escaped too so the blob
# is inert in any HTML context. U+2028/2029 are already \\u-escaped by
# ensure_ascii; listed anyway in case that ever changes.
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def embed_json(data: Any) -> str:
    """*data* as JSON safe to place verbatim inside ``<script type="application/json">``.

    Pure ASCII: ``ensure_ascii`` writes lone surrogates (undecodable file
    names) as ``\\udcff`` escapes, which ``JSON.parse`` accepts, instead of
    failing to encode them.
    """
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    for raw, escaped in _ESCAPES.items():
        text = text.replace(raw, escaped)
    return text


def render(procs: list[dict[str, Any]], advice: dict[str, Any] | None = None) -> str:
    """One self-contained HTML page showing the per-process reports *procs*.

    *procs* are ``importguard.report/1`` reports (one per process; see
    ``_formats.processes`` for a merged report). The page needs no network:
    CSS and vanilla JavaScript are inline, and the reports themselves are
    embedded unchanged as JSON in ``<script type="application/json"
    id="importguard-data">``, so ``json.loads`` of that element's text gives
    *procs* back. The script builds the page with ``createElement`` and
    ``textContent`` only, and a Content-Security-Policy pins the one script
    allowed to run by its hash.

    The page shows, for each process side by side (pid, Python, total time of
    the top-level imports, import count), one zoomable icicle chart per thread:
    width is cumulative time, each row a level of nesting (``parent_id``);
    click a module to zoom into it, the path above the chart or the greyed
    ancestor rows to zoom out; hovering shows a tooltip and clicking fills a
    details panel (self and cumulative time, file, loader, thread, status,
    error and traceback). Modules narrower than a pixel are not drawn, which
    bounds the work for reports of many thousands of imports; failures and
    export violations always are (as a thin marker if need be). Escaped
    failures are red, swallowed ones hatched orange, swallowed ``not_found``
    (optional-dependency probes) grey, violations outlined in magenta; all
    of them are also listed below the charts.

    **Slowest paths** are the ten imports with the largest *self* time, each
    with the chain of imports from its thread's top-level import down to it.
    Self time is where the time was actually spent (cumulative time would
    list the same heavy subtree once per ancestor), and the chain says why
    that module was imported at all, which is what one needs to cut it.

    The **module table** aggregates by name over all processes (a name can be
    imported more than once: reloads, several processes), adding the
    per-module totals of records folded to bound memory (``folded``), and
    sorts by any column when its header is clicked.

    With *advice* (an ``importguard.advise/1`` result), the page starts with
    :func:`advice_section`.
    """
    head = _HEAD
    if advice is not None:
        head = head.replace('<div id="app">', advice_section(advice) + '<div id="app">', 1)
    return head + embed_json(procs) + _TAIL


# The advice is static HTML, every text escaped: it needs no script, so the
# pinned script hash and the chart code stay as they are.
_ADVICE_CSS = "\n" + _asset("advice.css")


def advice_section(advice: dict[str, Any]) -> str:
    """``importguard advise``'s result as an HTML section: ranked candidates, total, dropped, cycles."""
    from html import escape

    def ms(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    def where(site: dict[str, Any] | None) -> str:
        if not site or not site.get("file"):
            return ""
        return f"{site['file']}:{site['line']}"

    end = advice.get("startup_end") or {}
    cands = advice.get("candidates") or []
    memory = (advice.get("total") or {}).get("memory_bytes") is not None
    ended = {"exit": "when the program exited", "until": "at --until", "marker": "at importguard.startup_done()"}.get(
        str(end.get("by")), str(end.get("by"))
    )
    out = [
        f'<section id="advice"><style>{_ADVICE_CSS}</style>',
        "<h2>Imports to defer (importguard advise)</h2>",
        f'<p class="sub">{len(cands)} import{"" if len(cands) == 1 else "s"} made before startup ended '
        f"({escape(ended)}, {escape(str(end.get('seconds', '')))} s after the start) whose modules were not "
        "used by then, largest cost first. Cost: the import's cumulative time minus what startup needs "
        "anyway.</p>",
    ]
    if cands:
        out.append(
            '<table class="advice"><thead><tr><th>cost ms</th>'
            + ("<th>memory kB</th>" if memory else "")
            + "<th>saving ms</th><th>first use s</th><th>module</th><th>import statement</th>"
            "<th>how to defer it</th></tr></thead><tbody>"
        )
        for c in cands:
            mem = c.get("memory_bytes")
            first = c.get("first_use")
            out.append(
                "<tr>"
                f"<td>{ms(c.get('cumulative_ms'))}</td>"
                + (f"<td>{'' if mem is None else f'{mem / 1e3:.0f}'}</td>" if memory else "")
                + f"<td>{ms(c.get('saving_ms')) or 'not measured'}</td>"
                f"<td>{'never' if first is None else f'{first:.2f}'}</td>"
                f'<td class="mono">{escape(str(c.get("module")))}</td>'
                f'<td class="mono">{escape(where(c.get("importer")))}</td>'
                f'<td class="how">{escape(str(c.get("how", "")))}</td>'
                "</tr>"
            )
        out.append("</tbody></table>")
        total = advice.get("total") or {}
        text = f"Total: {ms(total.get('cumulative_ms'))} ms of startup"
        if total.get("saving_ms") is not None:
            text += f"; measured saving {ms(total['saving_ms'])} ms"
        out.append(f"<p>{escape(text)}</p>")
    for d in advice.get("dropped") or []:
        out.append(f'<p class="dropped">dropped: {escape(str(d.get("module")))}: {escape(str(d.get("reason")))}</p>')
    cycles = advice.get("cycles") or []
    if cycles:
        out.append("<h3>Import cycles</h3><ul>")
        for cyc in cycles:
            names = [str(n) for n in cyc.get("modules") or []]
            out.append(
                f'<li class="mono">{escape(" -> ".join(names + names[:1]))} {escape(where(cyc.get("importer")))}</li>'
            )
        out.append("</ul>")
    out.append("</section>")
    return "".join(out)
