"""The self-contained HTML report (``parity.html``): pandas Styler tables, inline CSS and a few
lines of inline JavaScript (click a column header to sort), plots embedded as PNG data URIs.
Nothing is fetched from the network."""

from __future__ import annotations

import base64
import html
import math

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

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


def _status_css(v: object) -> str:
    text = str(v).split(" ", 1)[0] if isinstance(v, str) else ""
    return STATUS_CSS.get(text, "")


def _ulp_text(v: object) -> str:
    if not isinstance(v, float | int) or math.isnan(v):
        return "–"
    return "∞" if math.isinf(v) else f"{v:.0f}"


def _gmap(df: pd.DataFrame) -> pd.DataFrame:
    """log2(1 + ulp), with infinities drawn as the darkest finite colour."""
    vals = df.to_numpy(dtype=float)
    finite = vals[np.isfinite(vals)]
    cap = max(float(finite.max()) * 2 if finite.size else 1.0, 16.0)
    with np.errstate(invalid="ignore"):
        g = np.log2(1.0 + np.clip(np.nan_to_num(vals, nan=0.0, posinf=cap), 0.0, cap))
    return pd.DataFrame(g, index=df.index, columns=df.columns)


def _styled(st: Styler, uid: str) -> str:
    st = st.set_table_attributes('class="sortable"').set_uuid(uid)
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


def _class_css() -> str:
    """Cell classes of the big tables (per-cell CSS rules would make the file huge)."""
    css = [f"td.st-{k}{{{v}}}" for k, v in STATUS_CSS.items()]
    css += [
        f"td.u{i}{{background-color:{c};{'color:#fff' if i >= 5 else ''}}}"
        for i, c in enumerate(ULP_BUCKETS)
    ]
    css.append("td.una{background-color:#f0f0f0;color:#999}")
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


def _lean(st: Styler, uid: str) -> str:
    st = st.set_table_attributes('class="sortable"').set_uuid(uid)
    return '<div class="scroll">' + st.to_html(sparse_index=False, exclude_styles=False) + "</div>"


def parity_html(b: Bundle) -> str:
    t = b.parity
    if t.empty:
        return "<p>(no rows)</p>"
    classes = t.map(lambda v: "st-" + str(v).split(" ", 1)[0] if str(v) else "")
    classes["tolerance"] = ""
    st = Styler(t, cell_ids=False).set_td_classes(classes)
    return _lean(st, "parity")


def ulp_html(b: Bundle) -> str:
    u = b.ulp
    if u.empty:
        return "<p>(no rows)</p>"
    st = Styler(u, cell_ids=False).set_td_classes(u.map(_ulp_class)).format(_ulp_text)
    return _lean(st, "ulp")


def summary_html(b: Bundle) -> str:
    s = b.summary
    if s.empty:
        return "<p>(no rows)</p>"
    st = s.style.format({"worst ulp": _ulp_text, "max abs err": "{:.3g}"}, na_rep="–")
    if "worst ulp" in s.columns:
        st = st.background_gradient(
            cmap="YlOrRd", subset=["worst ulp"], gmap=_gmap(s[["worst ulp"]])["worst ulp"], vmin=0.0
        )
    for col, css in (
        ("fail", STATUS_CSS["fail"]),
        ("error", STATUS_CSS["error"]),
        ("known", STATUS_CSS["known"]),
    ):
        if col in s.columns:
            st = st.map(lambda v, css=css: css if v else "", subset=[col])
    return _styled(st, "summary")


def agreement_html(b: Bundle, images: dict[str, bytes]) -> str:
    if b.agreement.empty:
        return "<p>(no two paths ran on the same case)</p>"
    parts = []
    for dtype, op, group in b.agreement.sections():
        fname = b.agreement.file_name(dtype, op, group)
        anchor = fname.removesuffix(".png").replace("_", "-")
        m = b.agreement.matrix(dtype, op, group)
        st = m.style.background_gradient(cmap="YlOrRd", gmap=_gmap(m), axis=None, vmin=0.0).format(
            _ulp_text
        )
        parts.append(f'<h3 id="{anchor}">{html.escape(b.agreement.title(dtype, op, group))}</h3>')
        parts.append(_styled(st, anchor.replace("-", "_")))
        for n in sorted(b.agreement.bounds(dtype, op, group) - {"exact"}):
            parts.append(f'<p class="note">{html.escape(BOUND_NOTE[n])}.</p>')
        png = images.get(fname)
        if png:
            parts.append(_img(png, f"agreement heatmap {op} {dtype}"))
    return "\n".join(parts)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="plot" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def failures_html(b: Bundle) -> str:
    rows = [r for r in b.failing if r.status in ("fail", "error")]
    if not rows:
        return "<p>No failing rows.</p>"
    out = []
    for i, r in enumerate(rows):
        out.append(
            f'<div id="failure-{i}"><p><span style="{STATUS_CSS[r.status]};padding:1px 6px">'
            f"{r.status}</span> <code>{html.escape(r.case)}</code> {r.dtype} {r.op} — "
            f"<b>{html.escape(r.framework)}</b> <code>{html.escape(r.path)}</code> "
            f"({html.escape(r.mode)}, {html.escape(r.device)}): {html.escape(r.message)}</p>"
        )
        snip = b.snippets.get(id(r))
        if snip is not None:
            out.append(
                f"<details><summary>reproduce ({html.escape(snip.name)})</summary>"
                f"<pre><code>{html.escape(snip.code)}</code></pre></details>"
            )
        out.append("</div>")
    return "\n".join(out)


def known_html(b: Bundle) -> str:
    known = [r for r in b.rows if r.status == "known"]
    if not known and b.known is None:
        return ""
    items = [
        f"<li><code>{html.escape(r.case)}</code> {r.dtype} {r.op} — {html.escape(r.framework)} "
        f"<code>{html.escape(r.path)}</code>: {html.escape(r.message)}</li>"
        for r in known
    ]
    if b.known is not None:
        items += [f"<li>{html.escape(line)}</li>" for line in b.known.lines()]
    return f'<section id="known"><h2>Known deviations</h2><ul>{"".join(items)}</ul></section>'


def render(b: Bundle, images: dict[str, bytes]) -> str:
    verdict = b.verdict()
    cls = "fail" if verdict.startswith("FAIL") else "pass"
    env = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in b.header
    )
    fw = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(f[k])}</td>" for k in ("framework", "version", "devices", "modes")
        )
        + f"<td>{html.escape(f['settings'] or f['note'])}</td></tr>"
        for f in b.frameworks
    )
    legend = "".join(f'<span style="{css}">{s}</span>' for s, css in STATUS_CSS.items())
    sig = [n for n in sorted(images) if n.startswith("sigmoid_ulp_")]
    sig_html = "".join(_img(images[n], n) for n in sig) or (
        '<p class="note">No sigmoid arrays stored (outputs.npz missing), nothing to plot.</p>'
    )
    gate = b.extra.get("gate_html", "")
    tol = b.tolerances
    tol_html = (
        tol.to_html(index=False, classes="sortable", border=0) if not tol.empty else "<p>(none)</p>"
    )
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
<title>{html.escape(b.title)}</title>
<style>{CSS}{_class_css()}</style></head>
<body>
<header><h1>{html.escape(b.title)}</h1><div class="verdict {cls}">{html.escape(verdict)}</div></header>
<nav>{"".join(f'<a href="#{a}">{t}</a>' for a, t in nav)}</nav>
<main>
{gate}
<section id="environment"><h2>Environment</h2>
<table>{env}</table>
<table class="sortable"><thead><tr><th>framework</th><th>version</th><th>devices</th><th>modes</th><th>settings</th></tr></thead><tbody>{fw}</tbody></table>
</section>
<section id="summary"><h2>Summary</h2>
<p>Per framework, dtype and op; worst ULP against the row's target.</p>
{summary_html(b)}
</section>
<section id="failures"><h2>Failures</h2>
{failures_html(b)}
</section>
{known_html(b)}
<section id="parity"><h2>Parity</h2>
<p>Cells: status, max ULP and (max absolute error) against the target — the case's
<code>expected</code> values when given, else the exact reference correctly rounded. Click a
header to sort.</p>
<p class="legend">{legend}</p>
{parity_html(b)}
</section>
<section id="ulp"><h2>Max ULP</h2>
<p>The same rows as numbers, coloured on a log scale (– : error, skip or not run):
{"".join(f'<span style="background:{c};padding:1px 6px">{t}</span>' for c, t in zip(ULP_BUCKETS, ("0", "1", "2–3", "4–7", "8–15", "16–63", "64–1023", "≥1024/∞"), strict=True))}</p>
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
