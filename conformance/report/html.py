"""The self-contained HTML report (``parity.html``): pandas Styler tables, inline CSS and a few
lines of inline JavaScript (click a column header to sort), plots embedded as PNG data URIs.
Nothing is fetched from the network.

Every string from the rows, the environment or the known-deviations file goes through
:func:`conformance.escape.html` where it is written (Styler escapes nothing by itself: cells and
labels get escaping formatters); ids, anchors and CSS classes are ours or
:func:`conformance.escape.slug` of the data. Results are coloured by the share of their
tolerance they used (``budget_used``), by max ULP where older result files lack it.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from .. import escape
from ..results import Row
from . import tables
from .bundle import Bundle
from .markdown import BOUND_NOTE

STATUS_CSS = {
    "pass": "background-color:#d8f0d8;color:#14501a",
    "fail": "background-color:#f7c6c0;color:#7a1010;font-weight:bold",
    "error": "background-color:#f6d39f;color:#6b3a00;font-weight:bold",
    "skip": "background-color:#ececec;color:#666",
    "known": "background-color:#fff0a8;color:#5c4a00",
}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;font-size:14px}
header{background:#1f2937;color:#fff;padding:14px 24px}
header h1{margin:0 0 4px 0;font-size:22px}
nav{position:sticky;top:0;background:#f3f4f6;border-bottom:1px solid #ddd;padding:6px 24px;z-index:2}
nav a{margin-right:14px;color:#1d4ed8;text-decoration:none}
main{padding:8px 24px 40px 24px}
section{margin-top:22px}
h2{border-bottom:2px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-size:12px}
th,td{border:1px solid #d0d0d0;padding:3px 6px;text-align:left;vertical-align:top}
thead th{background:#f3f4f6;cursor:pointer;position:relative}
thead th:hover{background:#e5e7eb}
td{font-variant-numeric:tabular-nums}
.verdict{font-size:16px;font-weight:bold}
.verdict.pass{color:#9be89b}.verdict.fail{color:#ffb4aa}
.scroll{overflow-x:auto;max-width:100%}
pre{background:#f8f8f8;border:1px solid #ddd;padding:8px;overflow-x:auto;font-size:12px}
details{margin:4px 0 10px 0}
img.plot{max-width:100%;border:1px solid #ddd;margin:6px 0}
.note{color:#555;font-style:italic}
.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border-radius:3px}
"""

SORT_JS = """
(function(){
  function pos(cell){var p=0,c=cell.previousElementSibling;while(c){p+=c.colSpan||1;c=c.previousElementSibling;}return p;}
  function cellAt(row,p){var q=0;for(var i=0;i<row.cells.length;i++){var c=row.cells[i];if(q===p)return c;q+=c.colSpan||1;}return null;}
  function key(c){if(!c)return "";var t=c.textContent.trim();var n=parseFloat(t.replace("\\u221e","Infinity").replace(/^(pass|fail|known) /,""));return isNaN(n)?t.toLowerCase():n;}
  document.querySelectorAll("table.sortable").forEach(function(table){
    table.querySelectorAll("thead th").forEach(function(th){
      th.title="click to sort";
      th.addEventListener("click",function(){
        var p=pos(th),body=table.tBodies[0];if(!body)return;
        var asc=th.getAttribute("data-sort")!=="asc";
        table.querySelectorAll("thead th").forEach(function(o){o.removeAttribute("data-sort");});
        th.setAttribute("data-sort",asc?"asc":"desc");
        var rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){var x=key(cellAt(a,p)),y=key(cellAt(b,p));
          if(typeof x!==typeof y){x=String(x);y=String(y);}
          return (x<y?-1:x>y?1:0)*(asc?1:-1);});
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
})();
"""


def _ulp_text(v: object) -> str:
    if not isinstance(v, float | int) or math.isnan(v):
        return "–"
    return "∞" if math.isinf(v) else f"{v:.0f}"


def _text(number: Callable[[object], str] = str) -> Callable[[object], str]:
    """A Styler cell formatter: strings escaped for HTML, anything else through ``number``."""

    def fmt(v: object) -> str:
        if isinstance(v, str):
            return escape.html(v)
        return escape.html(number(v))

    return fmt


def _lean(st: Styler, uid: str) -> str:
    """A Styler table as HTML with every index and column label escaped (Styler itself
    escapes nothing: cells go through a :func:`_text` formatter, classes and the uid are
    ours)."""
    st = (
        st.format_index(_text(), axis=0)
        .format_index(_text(), axis=1)
        .set_table_attributes('class="sortable"')
        .set_uuid(escape.slug(uid))
    )
    return '<div class="scroll">' + st.to_html(sparse_index=False) + "</div>"


ULP_BUCKETS = [
    "#ffffcc",
    "#ffeda0",
    "#fed976",
    "#feb24c",
    "#fd8d3c",
    "#fc4e2a",
    "#e31a1c",
    "#b10026",
]
ULP_CSS = {
    f"u{i}": f"background-color:{c};{'color:#fff' if i >= 5 else ''}"
    for i, c in enumerate(ULP_BUCKETS)
}
ULP_CSS["una"] = "background-color:#f0f0f0;color:#999"

#: Colours of the budget used (largest error / allowance), by :func:`tables.budget_level`.
BUDGET_CSS = {
    "low": "background-color:#d8f0d8;color:#14501a",
    "near": "background-color:#fed976;color:#5c3d00;font-weight:bold",
    "over": "background-color:#e31a1c;color:#fff;font-weight:bold",
    "far": "background-color:#8b0018;color:#fff;font-weight:bold",
}
BUDGET_LEGEND = {
    "low": "≤ 50% of tolerance",
    "near": "50–100%",
    "over": "above the tolerance",
    "far": "over 10×",
}


def _class_css() -> str:
    """Cell classes of the big tables (per-cell CSS rules would make the file huge)."""
    css = [f"td.st-{k}{{{v}}}" for k, v in STATUS_CSS.items()]
    css += [f"td.{k},span.{k}{{{v}}}" for k, v in ULP_CSS.items()]
    css += [f"td.b-{k}{{{v}}}" for k, v in BUDGET_CSS.items()]
    return "\n".join(css)


def _ulp_class(v: object) -> str:
    """Log2 buckets: 0, 1, 2-3, 4-7, 8-15, 16-63, 64-1023, >=1024 or inf."""
    if not isinstance(v, float | int) or math.isnan(v):
        return "una"
    if math.isinf(v) or v >= 1024:
        return "u7"
    for i, top in enumerate((0, 1, 3, 7, 15, 63, 1023)):
        if v <= top:
            return f"u{i}"
    return "u7"


def budget_class(budget: float | None, ulp: float | None) -> str:
    """The colour class of a result: by the budget used where the row records it, else (older
    result files) by its max ULP on the log scale."""
    level = tables.budget_level(budget)
    return f"b-{level}" if level else _ulp_class(ulp if ulp is not None else math.nan)


def _row_class(r: Row) -> str:
    if r.status in ("skip", "error"):
        return "una"
    return budget_class(r.budget_used, r.max_ulp)


def parity_html(b: Bundle) -> str:
    t = b.parity
    if t.empty:
        return "<p>(no rows)</p>"
    classes = tables.pivot(b.rows, lambda r: f"st-{r.status}" if r.status in STATUS_CSS else "")
    classes = classes.astype(object).reindex(index=t.index, columns=t.columns, fill_value="")
    st = Styler(t, cell_ids=False).set_td_classes(classes.fillna("")).format(_text())
    return _lean(st, "parity")


def ulp_html(b: Bundle) -> str:
    u = tables.ulp_text_table(b.rows)
    if u.empty:
        return "<p>(no rows)</p>"
    classes = tables.pivot(b.rows, _row_class).astype(object)
    classes = classes.reindex(index=u.index, columns=u.columns, fill_value="una").fillna("una")
    st = Styler(u, cell_ids=False).set_td_classes(classes).format(_text())
    return _lean(st, "ulp")


def _summary_css(s: pd.DataFrame) -> pd.DataFrame:
    css = pd.DataFrame("", index=s.index, columns=s.columns)
    has_budget = s["budget used"].notna() if "budget used" in s.columns else None
    if has_budget is not None:
        css["budget used"] = [
            BUDGET_CSS.get(tables.budget_level(v) or "", "") for v in s["budget used"]
        ]
    if "worst ulp" in s.columns:
        css["worst ulp"] = [
            "" if has_budget is not None and known else ULP_CSS[_ulp_class(u)]
            for u, known in zip(
                s["worst ulp"],
                has_budget if has_budget is not None else [False] * len(s),
                strict=True,
            )
        ]
    for col in ("fail", "error", "known"):
        if col in s.columns:
            css[col] = [STATUS_CSS[col] if v else "" for v in s[col]]
    if "wrong-sign zeros" in s.columns:
        css["wrong-sign zeros"] = [BUDGET_CSS["near"] if v else "" for v in s["wrong-sign zeros"]]
    return css


def summary_html(b: Bundle) -> str:
    s = b.summary
    if s.empty:
        return "<p>(no rows)</p>"
    st = s.style.format(_text(lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)))
    formats: dict[str, Callable[[object], str]] = {
        "worst ulp": _ulp_text,
        "max abs err": lambda v: "–" if math.isnan(v) else f"{v:.3g}",  # type: ignore[arg-type]
        "budget used": lambda v: tables.fmt_budget(float(v)),  # type: ignore[arg-type]
    }
    for col, fmt in formats.items():
        if col in s.columns:
            st = st.format(_text(fmt), subset=[col])
    st = st.apply(_summary_css, axis=None)
    return _lean(st, "summary")


def agreement_html(b: Bundle, images: dict[str, bytes]) -> str:
    if b.agreement.empty:
        return "<p>(no two paths ran on the same case)</p>"
    parts = []
    for dtype, op, group in b.agreement.sections():
        fname = b.agreement.file_name(dtype, op, group)
        anchor = fname.removesuffix(".png").replace("_", "-")  # a slug: see file_name
        m = b.agreement.matrix(dtype, op, group)
        st = m.style.background_gradient(cmap="YlOrRd", gmap=_gmap(m), axis=None, vmin=0.0).format(
            _text(_ulp_text)
        )
        title = b.agreement.title(dtype, op, group)
        parts.append(f'<h3 id="{anchor}">{escape.html(title)}</h3>')
        parts.append(_lean(st, anchor.replace("-", "_")))
        for n in sorted(b.agreement.bounds(dtype, op, group) - {"exact"}):
            parts.append(f'<p class="note">{escape.html(BOUND_NOTE.get(n, n))}.</p>')
        png = images.get(fname)
        if png:
            parts.append(_img(png, f"agreement heatmap {title}"))
    return "\n".join(parts)


def _gmap(df: pd.DataFrame) -> pd.DataFrame:
    """log2(1 + ulp), with infinities drawn as the darkest finite colour."""
    vals = df.to_numpy(dtype=float)
    finite = vals[np.isfinite(vals)]
    cap = max(float(finite.max()) * 2 if finite.size else 1.0, 16.0)
    with np.errstate(invalid="ignore"):
        g = np.log2(1.0 + np.clip(np.nan_to_num(vals, nan=0.0, posinf=cap), 0.0, cap))
    return pd.DataFrame(g, index=df.index, columns=df.columns)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="plot" alt="{escape.html(alt)}" src="data:image/png;base64,{data}">'


def _where(r: Row) -> str:
    return (
        f"<code>{escape.html(r.case)}</code> {escape.html(r.dtype)} {escape.html(r.op)} — "
        f"<b>{escape.html(r.framework)}</b> <code>{escape.html(r.path)}</code>"
    )


def failures_html(b: Bundle) -> str:
    rows = [r for r in b.failing if r.status in ("fail", "error")]
    if not rows:
        return "<p>No failing rows.</p>"
    out = []
    for i, r in enumerate(rows):
        out.append(
            f'<div id="failure-{i}"><p><span style="{STATUS_CSS[r.status]};padding:1px 6px">'
            f"{r.status}</span> "
            f"{_where(r)} ({escape.html(r.mode)}, {escape.html(r.device)}): "
            f"{escape.html(r.message)}</p>"
        )
        snip = b.snippets.get(id(r))
        if snip is not None:
            out.append(
                f"<details><summary>reproduce ({escape.html(snip.name)})</summary>"
                f"<pre><code>{_pre(snip.code)}</code></pre></details>"
            )
        elif id(r) in b.no_repro:
            out.append(f"<p>No reproduction program: {escape.html(b.no_repro[id(r)])}</p>")
        out.append("</div>")
    return "\n".join(out)


def known_html(b: Bundle) -> str:
    known = [r for r in b.rows if r.status == "known"]
    if not known and b.known is None:
        return ""
    items = [f"<li>{_where(r)}: {escape.html(r.message)}</li>" for r in known]
    if b.known is not None:
        items += [f"<li>{escape.html(line)}</li>" for line in b.known.lines()]
    return f'<section id="known"><h2>Known deviations</h2><ul>{"".join(items)}</ul></section>'


def _pre(text: str) -> str:
    """Preformatted text: line breaks kept, each line escaped."""
    return "\n".join(escape.html(line) for line in text.split("\n"))


def _plain_table(df: pd.DataFrame) -> str:
    """A small sortable table of strings, every cell escaped."""
    head = "".join(f"<th>{escape.html(c)}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape.html(v)}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False, name=None)
    )
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render(b: Bundle, images: dict[str, bytes]) -> str:
    verdict = b.verdict()
    cls = "fail" if verdict.startswith("FAIL") else "pass"
    env = "".join(
        f"<tr><th>{escape.html(k)}</th><td>{escape.html(v)}</td></tr>" for k, v in b.header
    )
    fw = _plain_table(
        pd.DataFrame(
            [
                [f["framework"], f["version"], f["devices"], f["modes"], f["settings"] or f["note"]]
                for f in b.frameworks
            ],
            columns=["framework", "version", "devices", "modes", "settings"],
        )
    )
    legend = "".join(f'<span style="{css}">{s}</span>' for s, css in STATUS_CSS.items())
    ulp_legend = "".join(
        f'<span class="{k}">{t}</span>'
        for k, t in zip(
            ULP_CSS,
            ("0", "1", "2–3", "4–7", "8–15", "16–63", "64–1023", "≥1024/∞"),
            strict=False,
        )
    )
    budget_legend = "".join(
        f'<span style="{BUDGET_CSS[k]}">{t}</span>' for k, t in BUDGET_LEGEND.items()
    )
    sig = [n for n in sorted(images) if n.startswith("sigmoid_ulp_")]
    sig_html = "".join(_img(images[n], n) for n in sig) or (
        '<p class="note">No sigmoid arrays stored (outputs.npz missing), nothing to plot.</p>'
    )
    gate = b.extra.get("gate_html", "")
    tol_html = _plain_table(b.tolerances) if not b.tolerances.empty else "<p>(none)</p>"
    nav = [
        ("environment", "Environment"),
        ("summary", "Summary"),
        ("failures", "Failures"),
        ("parity", "Parity"),
        ("ulp", "Max ULP"),
        ("agreement", "Agreement"),
        ("plots", "Sigmoid plots"),
        ("tolerances", "Tolerances"),
    ]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape.html(b.title)}</title>
<style>{CSS}{_class_css()}</style></head>
<body>
<header><h1>{escape.html(b.title)}</h1><div class="verdict {cls}">{escape.html(verdict)}</div></header>
<nav>{"".join(f'<a href="#{a}">{t}</a>' for a, t in nav)}</nav>
<main>
{gate}
<section id="environment"><h2>Environment</h2>
<table>{env}</table>
{fw}
</section>
<section id="summary"><h2>Summary</h2>
<p>Per framework, dtype and op: the largest share of its tolerance a row used (budget used;
above 100% fails), the worst ULP against the row's target, and the case that came closest to
its tolerance (largest ULP where no budget is recorded).</p>
<p class="legend">{budget_legend}</p>
{summary_html(b)}
</section>
<section id="failures"><h2>Failures</h2>
{failures_html(b)}
</section>
{known_html(b)}
<section id="parity"><h2>Parity</h2>
<p>Cells: status, max ULP and (max absolute error) against the target — the case's
<code>expected</code> values when given, else the exact reference correctly rounded — the share
of the tolerance used, and wrong-signed zeros where there are any. Click a header to sort.</p>
<p class="legend">{legend}</p>
{parity_html(b)}
</section>
<section id="ulp"><h2>Max ULP</h2>
<p class="legend">The same rows as numbers: max ULP · share of the tolerance used, coloured by
that share (– : error, skip or not run): {budget_legend}</p>
<p class="legend">Rows without a recorded budget (older result files) are coloured by max ULP
on a log scale: {ulp_legend}</p>
{ulp_html(b)}
</section>
<section id="agreement"><h2>Agreement between paths</h2>
<p>Max ULP distance between the outputs of every two paths on the same case (max over cases).</p>
{agreement_html(b, images)}
</section>
<section id="plots"><h2>Sigmoid error vs input</h2>
{sig_html}
</section>
<section id="tolerances"><h2>Tolerances used</h2>
{tol_html}
</section>
</main>
<script>{SORT_JS}</script>
</body></html>
"""
