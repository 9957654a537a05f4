"""The Markdown report (``parity.md``).

Every string from the rows, the environment or the known-deviations file is untrusted: it is
written through :mod:`conformance.escape` (``markdown`` for text and table cells,
``markdown_code`` for ids shown as code), so it can neither split a table, open a link, image
or HTML element, nor start a block.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from urllib.parse import quote

import pandas as pd
from tabulate import tabulate

from .. import escape
from ..results import Row
from . import tables
from .bundle import Bundle

BOUND_NOTE = {
    "lower": "some arrays were stored strided (large cases): these are lower bounds",
    "upper": "no outputs.npz: upper bounds from each path's distance to the reference",
}


def _number(v: object, floatfmt: str) -> str:
    if isinstance(v, bool | numbers.Integral):
        return str(v)
    f = float(v)  # type: ignore[arg-type]
    if math.isnan(f):
        return "–"
    if math.isinf(f):
        return "∞" if f > 0 else "-∞"
    return format(f, floatfmt)


def _text(v: object, floatfmt: str) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return escape.markdown(v)
    try:
        return _number(v, floatfmt)
    except (TypeError, ValueError):
        return escape.markdown(v)


def table(
    df: pd.DataFrame,
    floatfmt: str = ".3g",
    formats: Mapping[str, Callable[[object], str]] | None = None,
    index: bool = True,
) -> str:
    """A GitHub table of ``df``: index levels become leading columns; every label and cell is
    escaped (numbers formatted with ``floatfmt``, or by ``formats[column]``)."""
    if df.empty:
        return "(no rows)"
    formats = formats or {}
    heads = [str(n) if n is not None else "" for n in df.index.names] if index else []
    heads += [str(c) for c in df.columns]
    body = []
    for key, values in zip(df.index, df.itertuples(index=False, name=None), strict=True):
        keys = (key if isinstance(key, tuple) else (key,)) if index else ()
        cells = [_text(k, floatfmt) for k in keys]
        for col, v in zip(df.columns, values, strict=True):
            fmt = formats.get(str(col))
            cells.append(escape.markdown(fmt(v)) if fmt else _text(v, floatfmt))
        body.append(cells)
    numeric = [False] * (len(heads) - len(df.columns)) + [
        pd.api.types.is_numeric_dtype(df[c]) for c in df.columns
    ]
    return tabulate(
        body,
        headers=[escape.markdown(h) for h in heads],
        tablefmt="pipe",
        disable_numparse=True,
        colalign=["right" if n else "left" for n in numeric],
    )


def _budget(v: object) -> str:
    return tables.fmt_budget(None if v is None else float(v))  # type: ignore[arg-type]


SUMMARY_FORMATS: dict[str, Callable[[object], str]] = {"budget used": _budget}


def agreement_md(b: Bundle, images: dict[str, str] | None = None) -> list[str]:
    parts: list[str] = []
    if b.agreement.empty:
        return ["(no two paths ran on the same case)", ""]
    for dtype, op, group in b.agreement.sections():
        m = b.agreement.matrix(dtype, op, group)
        short = {name: f"{i + 1}" for i, name in enumerate(m.index)}
        legend = ", ".join(f"**{v}** {escape.markdown(k)}" for k, v in short.items())
        shown = m.rename(index={n: f"{short[n]} {n}" for n in m.index}, columns=short)
        shown.index.name = None
        title = b.agreement.title(dtype, op, group)
        parts += [f"### {escape.markdown(title)}", "", legend, ""]
        parts.append(table(shown, floatfmt=".0f"))
        notes = sorted(b.agreement.bounds(dtype, op, group) - {"exact"})
        for n in notes:
            parts += ["", f"_{BOUND_NOTE.get(n, escape.markdown(n))}._"]
        img = (images or {}).get(b.agreement.file_name(dtype, op, group))
        if img:
            parts += ["", f"![agreement {escape.markdown(title)}]({quote(img)})"]
        parts.append("")
    return parts


def _row_line(r: Row) -> str:
    return (
        f"{escape.markdown_code(r.case, table=False)} {escape.markdown(r.dtype)} "
        f"{escape.markdown(r.op)} — {escape.markdown(r.framework)} "
        f"{escape.markdown_code(r.path, table=False)}"
    )


def render(b: Bundle, images: dict[str, str] | None = None, repro_dir: str | None = None) -> str:
    """``images``: PNG name -> relative link; ``repro_dir``: where snippet files were written."""
    parts = [f"# {escape.markdown(b.title)}", "", f"**{escape.markdown(b.verdict())}**", ""]
    if b.extra.get("gate"):
        parts += [b.extra["gate"], ""]
    parts += ["## Environment", ""]
    parts += [f"- **{escape.markdown(k)}**: {escape.markdown(v)}" for k, v in b.header]
    fw = pd.DataFrame(
        [
            [f["framework"], f["version"], f["devices"], f["modes"], f["settings"] or f["note"]]
            for f in b.frameworks
        ],
        columns=["framework", "version", "devices", "modes", "settings"],
    )
    parts += ["", table(fw, index=False) if not fw.empty else "(no frameworks)"]
    parts += [
        "",
        "## Summary",
        "",
        "Per framework, dtype and op: the largest share of its tolerance a row used (`budget "
        "used`; above 100% fails), the worst ULP against the row's target, and the case that "
        "came closest to its tolerance (largest ULP where no budget is recorded).",
        "",
    ]
    parts += [table(b.summary, formats=SUMMARY_FORMATS), ""]
    failing = [r for r in b.failing if r.status in ("fail", "error")]
    if failing:
        parts += ["## Failures", ""]
        for r in failing:
            parts.append(
                f"- **{escape.markdown(r.status)}** {_row_line(r)}"
                f" ({escape.markdown(r.mode)}, {escape.markdown(r.device)}):"
                f" {escape.markdown(r.message)}"
            )
            snip = b.snippets.get(id(r))
            if snip is not None:
                parts += ["", *_snippet_block(snip.name, snip.code, repro_dir)]
            elif id(r) in b.no_repro:
                parts += ["", f"  No reproduction program: {escape.markdown(b.no_repro[id(r)])}"]
            parts.append("")
    known = [r for r in b.rows if r.status == "known"]
    if known or b.known is not None:
        parts += ["## Known deviations", ""]
        for r in known:
            parts.append(f"- {_row_line(r)}: {escape.markdown(r.message)}")
        if b.known is not None:
            parts += [f"- {escape.markdown(line)}" for line in b.known.lines()]
        parts.append("")
    parts += [
        "## Parity",
        "",
        "Cells: status, max ULP and (max absolute error) against the target (the case's"
        " `expected` values when given, else the exact reference correctly rounded), the share"
        " of the tolerance used, and wrong-signed zeros where there are any.",
        "",
        table(b.parity),
        "",
        "## Agreement between paths",
        "",
        "Max ULP distance between the outputs of every two paths on the same case (max over cases).",
        "",
        *agreement_md(b, images),
    ]
    sig = sorted(n for n in (images or {}) if n.startswith("sigmoid_ulp_"))
    if sig:
        parts += ["## Sigmoid error vs input", ""]
        parts += [f"![{escape.markdown(n)}]({quote((images or {})[n])})" for n in sig]
        parts.append("")
    parts += [
        "## Tolerances used",
        "",
        table(b.tolerances, index=False) if not b.tolerances.empty else "(none)",
        "",
    ]
    return "\n".join(parts).rstrip() + "\n"


def _snippet_block(name: str, code: str, repro_dir: str | None) -> list[str]:
    """A collapsed, fenced reproduction program; the fence is longer than any backtick run in
    the code, so the program cannot end the block, and control characters are shown escaped
    (the program itself is in ``repro/``)."""
    code = escape.terminal(code, None)
    label = escape.html(name)
    link = ""
    if repro_dir:
        target = quote(f"{repro_dir}/{name}")
        link = f' — <a href="{escape.html(target)}">{escape.html(repro_dir)}/{label}</a>'
    fence = escape.code_fence(code)
    return [
        f"  <details><summary>reproduce{link}</summary>",
        "",
        f"  {fence}python",
        *[("  " + line) if line else "" for line in code.splitlines()],
        f"  {fence}",
        "",
        "  </details>",
    ]
