"""Plots (matplotlib, Agg backend): sigmoid ULP error vs input, and agreement heatmaps.

Both need the arrays of the outputs side file; without it there is nothing to plot and the
report says so. Figures are returned as PNG bytes, written to ``plots/`` and embedded in the
HTML report as data URIs. Names from the rows reach titles, tick labels and legends through
:func:`conformance.escape.matplotlib_text` (no mathtext, no control characters).
"""

from __future__ import annotations

import io
import math

import numpy as np

from .. import dtypes as D
from .. import escape
from ..outputs import OutputStore
from ..results import Row
from ..tolerances import SIGMOID_ULP_BUDGET
from .tables import RAN, Agreement, Labeller

MAX_POINTS = 20_000  # per series; points above 1 ulp are always kept


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def input_window(dtype: str) -> tuple[float, float]:
    """Inputs where sigmoid is not saturated in ``dtype``: from just below where the output
    underflows to 0 to just above where it rounds to 1 (elsewhere every path is exact)."""
    dt = D.get(dtype)
    return math.log(dt.min_subnormal) - 2.0, math.log(2.0 / dt.eps) + 2.0


def sigmoid_series(
    rows: list[Row], store: OutputStore
) -> dict[str, dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]]:
    """dtype -> framework -> column label -> (input, ulp error vs exact reference), from the
    sigmoid-only cases (those isolate the sigmoid implementation)."""
    label = Labeller(rows)
    acc: dict[str, dict[str, dict[str, list[tuple[np.ndarray, np.ndarray]]]]] = {}
    for r in rows:
        if r.op != "sigmoid" or r.status not in RAN or r.dtype not in D.DTYPES:
            continue
        if store.reference(r.case, r.dtype, "affine") is not None:
            continue  # dense case: its sigmoid error includes the framework's affine error
        out = store.output(r)
        ref = store.reference(r.case, r.dtype, "sigmoid")
        inp = store.input(r.case, r.dtype)
        if out is None or ref is None or inp is None:
            continue
        if not (out.raw.shape == ref.raw.shape == inp.raw.shape):
            continue
        ulp = D.ulp_distance(out.values, ref.values, D.get(r.dtype))
        series = acc.setdefault(r.dtype, {}).setdefault(r.framework, {})
        series.setdefault(label(r), []).append((inp.values, ulp))
    result: dict[str, dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]] = {}
    for dtype, fws in acc.items():
        for fw, paths in fws.items():
            for name, parts in paths.items():
                x = np.concatenate([p[0] for p in parts])
                u = np.concatenate([p[1] for p in parts])
                lo_x, hi_x = input_window(dtype)
                keep = np.isfinite(x) & (x >= lo_x) & (x <= hi_x)
                x, u = x[keep], u[keep]
                if x.size > MAX_POINTS:
                    big = u > 1
                    step = math.ceil(x.size / MAX_POINTS)
                    sel = big.copy()
                    sel[::step] = True
                    x, u = x[sel], u[sel]
                result.setdefault(dtype, {}).setdefault(fw, {})[name] = (x, u)
    return result


def sigmoid_figures(rows: list[Row], store: OutputStore | None) -> dict[str, bytes]:
    """One PNG per dtype: a panel per framework, a series per path; name -> PNG bytes."""
    if store is None:
        return {}
    # inputs near ±float64 max make matplotlib's margin arithmetic overflow (harmlessly)
    with np.errstate(over="ignore", invalid="ignore"):
        return _sigmoid_figures(sigmoid_series(rows, store))


def _sigmoid_figures(
    data: dict[str, dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]],
) -> dict[str, bytes]:
    plt = _plt()
    figures: dict[str, bytes] = {}
    markers = ["o", "s", "^", "D", "v", "P", "X"]
    for dtype in [d for d in D.DTYPE_NAMES if d in data]:
        fws = data[dtype]
        names = sorted(fws)
        fig, axes = plt.subplots(
            1, len(names), figsize=(4.2 * len(names), 3.6), sharey=True, squeeze=False
        )
        top = max(
            [
                float(np.max(u[np.isfinite(u)], initial=0.0))
                for fw in names
                for _, u in fws[fw].values()
            ]
            + [SIGMOID_ULP_BUDGET.get(dtype, 4)]
        )
        for ax, fw in zip(axes[0], names, strict=True):
            for i, (name, (x, u)) in enumerate(sorted(fws[fw].items())):
                finite = np.isfinite(u)
                path = name.split(" / ", 1)[-1]
                n_inf = int(np.count_nonzero(~finite))
                ax.scatter(
                    x[finite],
                    u[finite],
                    s=9,
                    alpha=0.6,
                    marker=markers[i % len(markers)],
                    label=escape.matplotlib_text(path)
                    + (f" ({n_inf} special mismatches)" if n_inf else ""),
                )
                if n_inf:
                    ax.scatter(x[~finite], np.full(n_inf, top * 1.5 + 1), marker="x", c="red")
            xs = np.concatenate([x for x, _ in fws[fw].values()])
            lo, hi = (float(xs.min()), float(xs.max())) if xs.size else (-1.0, 1.0)
            pad = max(0.05 * hi - 0.05 * lo, 1.0)
            lo, hi = lo - pad, hi + pad
            ax.set_xlim(lo, hi)
            ax.set_yscale("symlog", linthresh=1.0)
            ax.set_ylim(-0.3, top * 2 + 2)
            budget = SIGMOID_ULP_BUDGET.get(dtype, 4)
            ax.plot([lo, hi], [budget, budget], color="grey", ls="--", lw=0.8, label="ULP budget")
            ax.set_title(escape.matplotlib_text(fw), fontsize=10)
            ax.set_xlabel("sigmoid input")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=6, loc="upper left")
        axes[0][0].set_ylabel(f"error vs exact (ULP of {dtype})")
        fig.suptitle(
            f"sigmoid error vs input, {dtype}: sigmoid-only cases, inputs where sigmoid is not "
            "saturated (subnormal outputs fall under the flush-to-zero floor)",
            fontsize=10,
        )
        figures[f"sigmoid_ulp_{dtype}.png"] = _png(fig)
    return figures


def agreement_figures(agree: Agreement) -> dict[str, bytes]:
    """One heatmap per dtype and op of the pairwise max ULP distance; name -> PNG bytes."""
    if agree.empty:
        return {}
    plt = _plt()
    from matplotlib.colors import LogNorm

    figures: dict[str, bytes] = {}
    for dtype, op, group in agree.sections():
        m = agree.matrix(dtype, op, group)
        n = len(m)
        vals = m.to_numpy(dtype=float)
        shown = np.where(np.isfinite(vals), vals, np.nan)
        vmax = max(float(np.nanmax(shown + 1.0)) if np.isfinite(shown).any() else 2.0, 2.0)
        size = max(4.0, 0.55 * n + 2.5)
        fig, ax = plt.subplots(figsize=(size + 1.5, size))
        im = ax.imshow(shown + 1.0, cmap="viridis", norm=LogNorm(vmin=1.0, vmax=vmax))
        ticks = [escape.matplotlib_text(c) for c in m.columns]
        ax.set_xticks(range(n), ticks, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(n), [escape.matplotlib_text(c) for c in m.index], fontsize=7)
        if n <= 24:
            for i in range(n):
                for j in range(n):
                    v = vals[i, j]
                    text = "∞" if math.isinf(v) else ("" if math.isnan(v) else f"{v:.0f}")
                    ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white")
        fig.colorbar(im, ax=ax, label="max ULP distance + 1 (log)")
        bound = agree.bounds(dtype, op, group)
        note = "" if bound <= {"exact"} else f" ({', '.join(sorted(bound - {'exact'}))} bounds)"
        title = escape.matplotlib_text(agree.title(dtype, op, group), 160)
        ax.set_title(f"agreement, {title}: max ULP between paths{note}", fontsize=10)
        figures[agree.file_name(dtype, op, group)] = _png(fig)
    return figures
