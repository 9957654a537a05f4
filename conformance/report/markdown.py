"""The Markdown report (``parity.md``)."""

from __future__ import annotations

import math

import pandas as pd

from .bundle import Bundle

BOUND_NOTE = {
    "lower": "some arrays were stored strided (large cases): these are lower bounds",
    "upper": "no outputs.npz: upper bounds from each path's distance to the reference",
}


def _md(df: pd.DataFrame, floatfmt: str = ".3g") -> str:
    if df.empty:
        return "(no rows)"
    return df.to_markdown(floatfmt=floatfmt)


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def agreement_md(b: Bundle, images: dict[str, str] | None = None) -> list[str]:
    parts: list[str] = []
    if b.agreement.empty:
        return ["(no two paths ran on the same case)", ""]
    for dtype, op, group in b.agreement.sections():
        m = b.agreement.matrix(dtype, op, group)
        short = {name: f"{i + 1}" for i, name in enumerate(m.index)}
        legend = ", ".join(f"**{v}** {k}" for k, v in short.items())
        shown = m.rename(index={n: f"{short[n]} {n}" for n in m.index}, columns=short)
        parts += [f"### {b.agreement.title(dtype, op, group)}", "", legend, ""]
        parts.append(
            shown.map(
                lambda v: "" if math.isnan(v) else ("∞" if math.isinf(v) else f"{v:.0f}")
            ).to_markdown()
        )
        notes = sorted(b.agreement.bounds(dtype, op, group) - {"exact"})
        for n in notes:
            parts += ["", f"_{BOUND_NOTE[n]}._"]
        img = (images or {}).get(b.agreement.file_name(dtype, op, group))
        if img:
            parts += ["", f"![agreement {b.agreement.title(dtype, op, group)}]({img})"]
        parts.append("")
    return parts


def render(b: Bundle, images: dict[str, str] | None = None, repro_dir: str | None = None) -> str:
    """``images``: PNG name -> relative link; ``repro_dir``: where snippet files were written."""
    parts = [f"# {b.title}", "", f"**{b.verdict()}**", ""]
    if b.extra.get("gate"):
        parts += [b.extra["gate"], ""]
    parts += ["## Environment", ""]
    parts += [f"- **{k}**: {_esc(v)}" for k, v in b.header]
    parts += ["", "| framework | version | devices | modes | settings |", "|---|---|---|---|---|"]
    for f in b.frameworks:
        settings = f["settings"] or f["note"]
        parts.append(
            f"| {f['framework']} | {f['version']} | {f['devices']} | {f['modes']} | {_esc(settings)} |"
        )
    parts += [
        "",
        "## Summary",
        "",
        "Per framework, dtype and op (worst ULP against the row's target).",
        "",
    ]
    parts += [_md(b.summary), ""]
    failing = [r for r in b.failing if r.status in ("fail", "error")]
    if failing:
        parts += ["## Failures", ""]
        for r in failing:
            parts.append(
                f"- **{r.status}** `{r.case}` {r.dtype} {r.op} — {r.framework} `{r.path}`"
                f" ({r.mode}, {r.device}): {_esc(r.message)}"
            )
            snip = b.snippets.get(id(r))
            if snip is not None:
                link = f" ([{repro_dir}/{snip.name}]({repro_dir}/{snip.name}))" if repro_dir else ""
                parts += [
                    "",
                    f"  <details><summary>reproduce{link and ' — ' + snip.name}</summary>",
                    "",
                    "  ```python",
                    *[("  " + line) if line else "" for line in snip.code.splitlines()],
                    "  ```",
                    "",
                    "  </details>",
                ]
            parts.append("")
    known = [r for r in b.rows if r.status == "known"]
    if known or b.known is not None:
        parts += ["## Known deviations", ""]
        for r in known:
            parts.append(
                f"- `{r.case}` {r.dtype} {r.op} — {r.framework} `{r.path}`: {_esc(r.message)}"
            )
        if b.known is not None:
            parts += [f"- {_esc(line)}" for line in b.known.lines()]
        parts.append("")
    parts += [
        "## Parity",
        "",
        "Cells: status, max ULP and max absolute error against the target (the case's"
        " `expected` values when given, else the exact reference correctly rounded).",
        "",
        _md(b.parity),
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
        parts += [f"![{n}]({(images or {})[n]})" for n in sig]
        parts.append("")
    parts += [
        "## Tolerances used",
        "",
        _md(b.tolerances.set_index(["op", "dtype"])) if not b.tolerances.empty else "(none)",
        "",
    ]
    return "\n".join(parts).rstrip() + "\n"
