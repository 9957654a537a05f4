"""JUnit XML: one ``<testcase>`` per result row, so any CI shows failures natively.

Layout (the Ant/Jenkins/pytest dialect every CI reads): ``<testsuites>`` holds one
``<testsuite name="conformance.FRAMEWORK">`` per framework, whose ``<properties>`` carry the
framework version and settings. A row's testcase has ``classname="conformance.FRAMEWORK.CASE"``
and ``name="DTYPE OP PATH [MODE @DEVICE]"``; ``fail`` rows carry ``<failure>``, ``error`` rows
``<error>``, ``skip`` rows ``<skipped>``, and ``known`` deviations ``<skipped type="known">``
(the way pytest reports xfail), so they are visible without failing the build.
"""

from __future__ import annotations

import math
import socket
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import escape
from ..results import Row
from .tables import fmt_budget, fmt_ulp

MESSAGE_LIMIT = 500  # characters of a row's message in a failure's ``message`` attribute


def _clean(text: object) -> str:
    """Text every XML 1.0 parser accepts (ElementTree escapes ``<``, ``&`` and quotes): the
    characters XML cannot hold, and invisible controls, are shown as escapes."""
    return escape.xml(text)


def _line(text: object) -> str:
    """One line for an attribute: line breaks and controls shown as escapes."""
    return escape.xml(escape.visible(text))


def _seconds(v: float) -> float:
    return v if isinstance(v, float | int) and math.isfinite(v) and v > 0 else 0.0


def _measure(r: Row) -> str:
    text = f"max ulp {fmt_ulp(r.max_ulp)}, max abs err {r.max_abs_err}"
    if r.budget_used is not None:
        text += f", budget used {fmt_budget(r.budget_used)} of the tolerance"
    if r.wrong_sign_zeros:
        text += f", {r.wrong_sign_zeros} wrong-signed zeros"
    return text


def testcase_name(r: Row) -> str:
    extra = "" if (r.mode, r.device) == ("eager", "cpu") else f" [{r.mode} @{r.device}]"
    return f"{r.dtype} {r.op} {r.path}{extra}"


def _details(r: Row, snippet: str | None) -> str:
    lines = [
        f"case: {r.case} ({r.file})",
        f"framework: {r.framework} {r.framework_version}; path: {r.path}; mode: {r.mode}; "
        f"device: {r.device}",
        f"{_measure(r)}; against: {r.against}",
        f"tolerance: {r.tolerance}",
        f"message: {r.message}",
    ]
    if snippet:
        lines += ["", "reproduce with:", "", snippet]
    return _clean("\n".join(lines))


def build(
    rows: list[Row], snippets: dict[int, str] | None = None, env: dict[str, Any] | None = None
) -> ET.ElementTree:
    """The JUnit document; ``snippets`` maps ``id(row)`` to its reproduction program."""
    snippets = snippets or {}
    stamp = str(
        (env or {}).get("date") or datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    )
    host = socket.gethostname()
    root = ET.Element("testsuites", name="conformance")
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    frameworks = sorted({r.framework for r in rows})
    for i, fw in enumerate(frameworks):
        rs = [r for r in rows if r.framework == fw]
        suite = ET.SubElement(root, "testsuite", name=_line(f"conformance.{fw}"))
        props = ET.SubElement(suite, "properties")
        versions = sorted({r.framework_version for r in rs if r.framework_version})
        ET.SubElement(props, "property", name="framework_version", value=_line(", ".join(versions)))
        settings = sorted({(str(k), str(v)) for r in rs for k, v in r.settings.items()})
        for k, v in settings:
            ET.SubElement(props, "property", name=_line(f"setting.{k}"), value=_line(v))
        for key in ("suite_revision", "cpu", "platform", "python"):
            if env and env.get(key):
                ET.SubElement(props, "property", name=key, value=_line(str(env[key])))
        counts = {"fail": 0, "error": 0, "skip": 0}
        seconds = 0.0
        for r in rs:
            tc = ET.SubElement(
                suite,
                "testcase",
                classname=_line(f"conformance.{fw}.{r.case}"),
                name=_line(testcase_name(r)),
                time=f"{_seconds(r.seconds):.6f}",
            )
            seconds += _seconds(r.seconds)
            msg = _line(escape.visible(r.message, MESSAGE_LIMIT))
            if r.status == "fail":
                counts["fail"] += 1
                el = ET.SubElement(tc, "failure", message=msg, type="conformance.mismatch")
                el.text = _details(r, snippets.get(id(r)))
            elif r.status == "error":
                counts["error"] += 1
                el = ET.SubElement(tc, "error", message=msg, type="conformance.error")
                el.text = _details(r, snippets.get(id(r)))
            elif r.status == "skip":
                counts["skip"] += 1
                ET.SubElement(tc, "skipped", message=msg or "skipped", type="conformance.skip")
            elif r.status == "known":
                counts["skip"] += 1
                el = ET.SubElement(tc, "skipped", message=msg, type="known")
                el.text = _details(r, snippets.get(id(r)))
            else:
                out = ET.SubElement(tc, "system-out")
                out.text = _clean(f"{r.status}: {_measure(r)}, tolerance {r.tolerance}")
        suite.set("tests", str(len(rs)))
        suite.set("failures", str(counts["fail"]))
        suite.set("errors", str(counts["error"]))
        suite.set("skipped", str(counts["skip"]))
        suite.set("time", f"{seconds:.6f}")
        suite.set("timestamp", _line(stamp))
        suite.set("hostname", _line(host))
        suite.set("id", str(i))
        suite.set("package", "conformance")
        totals["tests"] += len(rs)
        totals["failures"] += counts["fail"]
        totals["errors"] += counts["error"]
        totals["time"] += seconds
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", str(totals["errors"]))
    root.set("time", f"{totals['time']:.6f}")
    ET.indent(root)
    return ET.ElementTree(root)


def write(
    rows: list[Row], path: Path, snippets: dict[int, str] | None = None, env: Any = None
) -> None:
    build(rows, snippets, env).write(path, encoding="utf-8", xml_declaration=True)
