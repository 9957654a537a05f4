"""Hostile strings (case ids, file names, paths, framework names and versions, settings,
messages, tolerances, known-deviation reasons, environment values, titles) are inert in every
report format and on the terminal.

Each checker returns the problems it found; ``test_checkers_catch_unescaped_output`` runs
them on output written with the escaping switched off, so none of them can pass vacuously.
"""

from __future__ import annotations

import csv
import importlib
import json
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from conformance import escape, known, report
from conformance.outputs import OutputStore
from conformance.report import html, junit, tables
from conformance.report.bundle import Bundle
from conformance.results import Row, read_rows, write_json

from .report_fixtures import clone, synthetic

# the package's ``markdown`` attribute is a function; the writer module is this one
markdown = importlib.import_module("conformance.report.markdown")
XSD = Path(__file__).parent / "data" / "junit.xsd"

# Every payload sets window.__pwned, adds an element or attribute, splits a table, breaks a
# document, or reaches a terminal or matplotlib raw, if it is ever written unescaped.
IMG = '<img src=x onerror="window.__pwned=1">'
MATH = "$\\frac{$ mathtext"
FENCE = 'line\nbreak\r\n```\n| x | y |\n# heading\n- item\n<img src=x onerror="window.__pwned=8">'
ANSI = "\x1b[31mred\x1b[0m\x1b]0;title\x07"
TRAVERSAL = "../../../../tmp/pwned"
PAYLOADS = [
    IMG,
    '"><script>window.__pwned=2</script>',
    MATH,  # the framework name of a plotted path
    "</style><script>window.__pwned=3</script><style>",
    "' onmouseover='window.__pwned=4' data-x='",
    "a`b``c```d",
    FENCE,  # in the reproduction program of a failing row
    "p|q\\|r||",
    "[x](javascript:window.__pwned=6) ![i](x)",
    ANSI,
    "nul\x00bel\x07del\x7f",
    "rtl\u202eevil\u2066",
    "=cmd|' /C calc'!A0",
    "<svg/onload=window.__pwned=5>",
    TRAVERSAL,
    "<!-- unclosed",
    "&lt;img src=x onerror=window.__pwned=7&gt;",
]
ALL = "".join(PAYLOADS)

# What an escaped report may never contain raw: C0/C1 controls (line breaks and tabs excepted
# in the formats that have them), bidi controls, lone surrogates.
RAW_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
    "\u2066-\u2069\ud800-\udfff]"
)


def hostile_rows(folder: Path) -> tuple[list[Row], OutputStore, known.KnownReport]:
    """The synthetic rows again and again, each payload in turn in every string field (case,
    file, framework, version, path, tolerance, message, settings); the first copies keep
    their arrays and case files, so plots, agreement matrices and reproduction snippets are
    written from hostile names too."""
    rows, store = synthetic(folder)
    n = len(PAYLOADS)
    out: list[Row] = []
    for k in range(n):
        r = rows[k % len(rows)]
        h = clone([r])[0]
        h.case = f"{r.case} {PAYLOADS[k]}"
        h.file = r.file if k < len(rows) else f"{folder}/{PAYLOADS[k]}.yaml"
        h.framework = f"{r.framework}{PAYLOADS[(k + 1) % n]}"
        h.framework_version = f"{r.framework_version} {PAYLOADS[(k + 2) % n]}"
        h.path = f"{r.path} {PAYLOADS[(k + 3) % n]}"
        h.tolerance = f"4 ulp {PAYLOADS[(k + 4) % n]}"
        h.message = f"{r.message} {PAYLOADS[(k + 5) % n]}"
        h.worst_index = PAYLOADS[(k + 6) % n]
        h.settings = {PAYLOADS[(k + 7) % n]: PAYLOADS[(k + 8) % n]}
        out.append(h)
        if k < len(rows):  # arrays under the hostile keys: plots and agreement use them
            got, z = store.output(r), store.input(r.case, r.dtype)
            ref = store.reference(r.case, r.dtype, r.op)
            if got is not None:
                store.add_output(h, got.values)
            if z is not None:
                store.add_input(h.case, h.dtype, z.values)
            if ref is not None:
                store.add_reference(h.case, h.dtype, h.op, ref.values)
    # a second path on the first hostile case: they meet in an agreement matrix
    twin = clone([out[0]])[0]
    twin.framework, twin.path = f"torch{PAYLOADS[2]}", f"torch.sigmoid {PAYLOADS[0]}"
    first = store.output(out[0])
    assert first is not None
    store.add_output(twin, first.values)
    out.append(twin)
    # a valid dtype with hostile ops, two paths each: the op names an agreement plot file
    for p in (IMG, MATH, TRAVERSAL):
        for path in ("a", "b"):
            odd = clone([out[0]])[0]
            odd.op, odd.path, odd.framework = p, f"{path} {p}", f"numpy {p}"
            odd.ref_max_ulp = 1.0
            out.append(odd)
    # dtype, mode, device and status hostile too (a results file can hold anything)
    for p in PAYLOADS[:6]:
        odd = clone([out[0]])[0]
        odd.dtype, odd.mode, odd.device, odd.status = p, p, p, "fail"
        out.append(odd)
    weird = clone([out[0]])[0]
    weird.status, weird.path = PAYLOADS[1], f"weird {PAYLOADS[3]}"
    out.append(weird)
    # a known deviation whose reason and location are hostile
    applied = known.apply(
        out,
        [
            known.Deviation(
                reason=ALL,
                patterns={"framework": "torch*", "op": "affine", "case": f"*{PAYLOADS[5]}"},
                where=PAYLOADS[0],
            )
        ],
    )
    return out, store, applied


ENV = {
    "date": PAYLOADS[1],
    "suite_version": PAYLOADS[0],
    "suite_revision": PAYLOADS[6],
    "python": PAYLOADS[8],
    "platform": PAYLOADS[10],
    "cpu": PAYLOADS[11],
    "cpu_count": PAYLOADS[9],
    "command": ALL,
}


def write_hostile(folder: Path, formats: list[str] | tuple[str, ...] = report.FORMATS) -> Path:
    rows, store, applied = hostile_rows(folder / "cases")
    out = folder / "rep"
    report.write(
        rows, out, formats, outputs=store, env=ENV, known=applied, title=f"Parity {PAYLOADS[1]}"
    )
    return out


# --------------------------------------------------------------------------------------------
# checkers: each returns the problems it found


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


SAFE_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def html_problems(text: str) -> list[str]:
    """No element, attribute, comment or id/class/href from the data; no raw control."""
    problems = []
    parser = _Tags()
    parser.feed(text)
    parser.close()
    for tag, attrs in parser.tags:
        if tag in ("svg", "iframe", "object", "embed", "math", "base", "form", "link"):
            problems.append(f"<{tag}> element")
        if tag == "img" and (
            attrs.get("class") != "plot"
            or not (attrs.get("src") or "").startswith("data:image/png")
        ):
            problems.append(f"foreign img {attrs}")
        for name, value in attrs.items():
            if name.startswith("on") or name not in (
                "id",
                "class",
                "href",
                "src",
                "alt",
                "style",
                "lang",
                "charset",
                "name",
                "content",
                "type",
                "title",
            ):
                problems.append(f"attribute {name}={value!r} on <{tag}>")
            if name == "id" and not SAFE_TOKEN.fullmatch(value or ""):
                problems.append(f"id {value!r}")
            if name == "class" and not all(SAFE_TOKEN.fullmatch(c) for c in (value or "").split()):
                problems.append(f"class {value!r}")
            if name == "href" and not SAFE_TOKEN.fullmatch((value or "").removeprefix("#")):
                problems.append(f"href {value!r}")
            if name == "style" and ("<" in (value or "") or "script" in (value or "")):
                problems.append(f"style {value!r}")
    scripts = [t for t, _ in parser.tags if t == "script"]
    if len(scripts) != 1:
        problems.append(f"{len(scripts)} <script> elements (the report has exactly one)")
    if parser.comments:
        problems.append(f"comments {parser.comments[:3]!r}")
    if RAW_CONTROL.search(text):
        problems.append("raw control character")
    return problems


def _cells(line: str) -> int:
    """GFM table row cells: a pipe splits unless a backslash is right before it."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    n, prev, bars = 1, "", 0
    for i, ch in enumerate(body):
        if ch == "|" and prev != "\\":
            bars += 1
            if i != len(body) - 1:
                n += 1
        prev = ch
    return n if bars else 0


def _tables(md: str) -> Iterator[list[str]]:
    block: list[str] = []
    for line in [*md.splitlines(), ""]:
        if line.lstrip().startswith("|"):
            block.append(line)
        elif block:
            yield block
            block = []


OUR_H2 = {
    "Environment",
    "Summary",
    "Failures",
    "Known deviations",
    "Parity",
    "Agreement between paths",
    "Sigmoid error vs input",
    "Tolerances used",
    "Versions per run",
    "Status counts per framework version",
}


def markdown_problems(md: str, h2_extra: set[str] | None = None) -> list[str]:
    """Every table row has its header's cell count (by hand and by markdown-it); the rendered
    HTML has no element, link or image from the data; no headings or raw controls of its own."""
    from markdown_it import MarkdownIt

    problems = []
    for block in _tables(md):
        want = _cells(block[0])
        for line in block[1:]:
            if _cells(line) != want:
                problems.append(f"{_cells(line)} cells, header has {want}: {line[:120]!r}")
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(md)
    row_cells: list[int] = []
    header = 0
    for t in tokens:
        if t.type == "thead_open":
            row_cells, header = [], 0
        elif t.type == "tr_open":
            row_cells.append(0)
        elif t.type in ("th_open", "td_open"):
            row_cells[-1] += 1
        elif t.type == "thead_close":
            header = row_cells[-1]
        elif t.type == "tr_close" and header and row_cells[-1] != header:
            problems.append(f"markdown-it row of {row_cells[-1]} cells, header {header}")
        elif t.type in ("html_block", "html_inline"):
            ok = re.fullmatch(
                r"\s*(</?details>|<summary>|</summary>|<a href=\"[A-Za-z0-9_./%-]+\">|</a>)[\s\S]*",
                t.content,
            )
            if not ok:
                problems.append(f"raw HTML {t.content[:80]!r}")
        for child in t.children or []:
            if child.type == "html_inline" and not re.fullmatch(
                r"</?details>|</?summary>|<a href=\"[A-Za-z0-9_./%-]+\">|</a>", child.content
            ):
                problems.append(f"inline HTML {child.content[:80]!r}")
            if child.type == "link_open":
                href = str(child.attrs.get("href", ""))
                if not re.fullmatch(r"(plots|repro)/[A-Za-z0-9_.%-]+", href):
                    problems.append(f"link to {href!r}")
            if child.type == "image":
                src = str(child.attrs.get("src", ""))
                if not re.fullmatch(r"plots/[A-Za-z0-9_.%-]+\.png", src):
                    problems.append(f"image {src!r}")
            if child.type == "code_inline" and "\n" in child.content:
                problems.append("code span across lines")
    h1 = [tokens[i + 1].content for i, t in enumerate(tokens) if t.tag == "h1" and t.nesting == 1]
    if len(h1) != 1:
        problems.append(f"{len(h1)} top-level headings")
    h2 = [tokens[i + 1].content for i, t in enumerate(tokens) if t.tag == "h2" and t.nesting == 1]
    for h in h2:
        if h not in OUR_H2 | (h2_extra or set()):
            problems.append(f"foreign heading {h!r}")
    if RAW_CONTROL.search(md) or "\r" in md:
        problems.append("raw control character")
    return problems


def junit_problems(path: Path, n_rows: int) -> list[str]:
    import xmlschema

    try:
        doc = ET.parse(path)
    except ET.ParseError as exc:
        return [f"junit.xml does not parse: {exc}"]
    problems = []
    errors = list(xmlschema.XMLSchema(str(XSD)).iter_errors(str(path)))
    problems += [f"schema: {e.reason}" for e in errors[:3]]
    cases = doc.getroot().findall("./testsuite/testcase")
    if len(cases) != n_rows:
        problems.append(f"{len(cases)} testcases for {n_rows} rows")
    text = path.read_text(encoding="utf-8")
    if RAW_CONTROL.search(text):
        problems.append("raw control character")
    return problems


def terminal_problems(text: str, limit: int = 2 * report.LINE_LIMIT) -> list[str]:
    problems = []
    if RAW_CONTROL.search(text) or "\r" in text or "\t" in text:
        problems.append("raw control character")
    long = [line for line in text.split("\n") if len(line) > limit]
    if long:
        problems.append(f"{len(long)} lines longer than {limit}")
    return problems


# --------------------------------------------------------------------------------------------


def test_hostile_rows_cover_every_field(tmp_path: Path) -> None:
    rows, _, _ = hostile_rows(tmp_path / "cases")
    fields = ("case", "framework", "framework_version", "path", "tolerance", "message")
    for name in fields:
        assert all(any(p in getattr(r, name) for p in PAYLOADS) for r in rows), name
        for p in PAYLOADS:
            assert any(p in getattr(r, name) for r in rows), (name, p)
    kept = len(synthetic(tmp_path / "plain")[0])  # the first copies keep their real case files
    assert all(any(p in r.file for r in rows) for p in PAYLOADS[kept:]), "file"
    assert {"pass", "fail", "error", "skip", "known"} <= {r.status for r in rows}


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every format of the hostile rows, written once for the tests that read them."""
    return write_hostile(tmp_path_factory.mktemp("hostile"))


def test_every_format_is_inert(hostile_report: Path) -> None:
    out = hostile_report
    rows = read_rows(out / "results.json")
    assert html_problems((out / "parity.html").read_text(encoding="utf-8")) == []
    assert markdown_problems((out / "parity.md").read_text(encoding="utf-8")) == []
    assert junit_problems(out / "junit.xml", len(rows)) == []
    # the data round-trips through JSON and CSV unchanged
    back = read_rows(out / "results.csv")
    assert [r.case for r in back] == [r.case for r in rows]
    assert any(PAYLOADS[0] in r.case for r in rows)
    # file names are ours or slugs: nothing lands outside the report directory
    for p in out.rglob("*"):
        assert p.resolve().is_relative_to(out.resolve()), p
        assert SAFE_TOKEN.fullmatch(p.name.replace(".", "")), p.name


def test_escaped_text_still_reads(hostile_report: Path) -> None:
    """Escaped, not dropped: the payloads read back as text."""
    html = (hostile_report / "parity.html").read_text(encoding="utf-8")
    assert escape.html(IMG) in html and escape.html(ANSI) in html
    assert unescape(escape.html(PAYLOADS[1])) == PAYLOADS[1]
    md = (hostile_report / "parity.md").read_text(encoding="utf-8")
    assert escape.markdown(PAYLOADS[7]) in md


def test_plots_are_drawn_from_hostile_names(hostile_report: Path) -> None:
    """Framework and path names with mathtext and control characters are drawn, not raised
    on; an op that names a plot file is a slug."""
    names = sorted(p.name for p in (hostile_report / "plots").iterdir())
    assert "sigmoid_ulp_float32.png" in names
    assert sum(n.startswith("agreement_float32_") for n in names) == 4, names


def test_lone_surrogates_are_written(tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    for r in rows:
        r.case, r.framework_version = f"{r.case}\ud800", "1.0\udfff"
    out = tmp_path / "rep"
    report.write(rows, out, ["md", "html", "junit", "json"])
    assert html_problems((out / "parity.html").read_text(encoding="utf-8")) == []
    assert markdown_problems((out / "parity.md").read_text(encoding="utf-8")) == []
    assert junit_problems(out / "junit.xml", len(rows)) == []


def test_console_summary_and_report_command_print_no_controls(
    tmp_path: Path, cli: Callable[..., tuple[int, str, str]]
) -> None:
    rows, _, _ = hostile_rows(tmp_path / "cases")
    summary = report.console_summary(rows)
    assert terminal_problems(summary, report.LINE_LIMIT) == []
    assert "\\x1b" in summary and "\\u202e" in summary  # shown, not dropped
    write_json(rows, tmp_path / "results.json")
    where = tmp_path / f"r{ANSI}\u202e"  # printed back as the folder written
    code, out, err = cli("report", str(tmp_path / "results.json"), "--out", str(where))
    assert code == 0, err
    assert terminal_problems(out + err) == []


def test_merge_trend_is_inert(tmp_path: Path, cli: Callable[..., tuple[int, str, str]]) -> None:
    rows, _, _ = hostile_rows(tmp_path / "cases")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write_json(rows, a / "results.json")
    newer = clone(rows)
    for r in newer:
        r.framework_version += " next"
    write_json(newer, b / "results.json")
    labels = ["--label", PAYLOADS[6], "--label", PAYLOADS[8]]
    where = tmp_path / f"m{ANSI}"
    code, out, err = cli("merge", str(a), str(b), *labels, "--out", str(where))
    assert code == 0, err
    assert terminal_problems(out + err) == []
    md = (where / "trend.md").read_text(encoding="utf-8")
    with (where / "merged.csv").open(newline="", encoding="utf-8") as fh:
        cells = [c for line in csv.reader(fh) for c in line]
    assert "'" + PAYLOADS[12] in " ".join(cells)  # shown, with the apostrophe
    assert not [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r"))]
    assert markdown_problems(md, _headings({r.framework for r in rows})) == []


def _headings(names: set[str]) -> set[str]:
    """The text markdown-it reads from ``## NAME`` headings of escaped names."""
    from markdown_it import MarkdownIt

    md = "\n\n".join(f"## {escape.markdown(n)}" for n in names)
    return {t.content for t in MarkdownIt("commonmark").parse(md) if t.type == "inline"}


# --------------------------------------------------------------------------------------------
# the checkers fail on unescaped output


def _identity(text: object, *args: object, **kwargs: object) -> str:
    return str(text)


def _render(folder: Path) -> tuple[str, str, Path, str, int]:
    """HTML, Markdown, a JUnit file and the console summary of the hostile rows (no plots)."""
    rows, store, applied = hostile_rows(folder / "cases")
    b = Bundle(rows, store, ENV, applied, f"Parity {PAYLOADS[1]}")
    xml = folder / "junit.xml"
    junit.write(rows, xml, {k: s.code for k, s in b.snippets.items()}, ENV)
    return html.render(b, {}), markdown.render(b), xml, report.console_summary(rows), len(rows)


@pytest.mark.parametrize(
    ("disabled", "caught_by"),
    [
        ("html", ["html"]),
        ("markdown", ["markdown"]),
        ("markdown_code", ["markdown"]),
        ("xml", ["xml"]),
        ("visible", ["html", "markdown", "terminal"]),
        ("slug", ["html"]),
    ],
)
def test_checkers_catch_unescaped_output(
    disabled: str, caught_by: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page, md, xml, console, n_rows = _render(tmp_path)
    assert html_problems(page) == markdown_problems(md) == junit_problems(xml, n_rows) == []
    monkeypatch.setattr(escape, disabled, _identity)
    page, md, xml, console, n_rows = _render(tmp_path)
    found = {
        "html": html_problems(page),
        "markdown": markdown_problems(md),
        "xml": junit_problems(xml, n_rows),
        "terminal": terminal_problems(console, report.LINE_LIMIT),
    }
    for kind in caught_by:
        assert found[kind], f"{kind} checker passed output written without escape.{disabled}"


def test_unslugged_op_cannot_name_a_plot_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, store, _ = hostile_rows(tmp_path / "cases")
    names = [
        tables.agreement(rows, store).file_name(*s)
        for s in tables.agreement(rows, store).sections()
    ]
    assert all(SAFE_TOKEN.fullmatch(n.removesuffix(".png")) for n in names), names
    monkeypatch.setattr(escape, "slug", _identity)
    names = [
        tables.agreement(rows, store).file_name(*s)
        for s in tables.agreement(rows, store).sections()
    ]
    assert any("/" in n for n in names)  # the check above would catch it


# --------------------------------------------------------------------------------------------
# the real browser


PROBE = """<script>
setTimeout(function () {
  document.documentElement.setAttribute("data-probe", JSON.stringify({
    pwned: typeof window.__pwned,
    foreign_img: document.querySelectorAll("img[src=x], img:not(.plot)").length,
    handlers: document.querySelectorAll("[onerror],[onload],[onmouseover],[onclick]").length,
    svg: document.querySelectorAll("svg").length,
    js_links: document.querySelectorAll('a[href^="javascript"]').length,
    scripts: document.scripts.length
  }));
}, 500);
</script>"""


def _probe(exe: str, page: Path) -> dict[str, object]:
    text = page.read_text(encoding="utf-8")
    at = text.index("<head>") + len("<head>")  # before anything from the data
    probe = Path(tempfile.mkdtemp()) / "probe.html"
    probe.write_text(text[:at] + PROBE + text[at:], encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        res = subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=3000",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert res.returncode == 0, res.stderr[-2000:]
    m = re.search(r'data-probe="([^"]*)"', res.stdout)
    assert m, res.stdout[:500]
    return json.loads(unescape(m.group(1)))


@pytest.mark.parametrize("escaped", [True, False], ids=["escaped", "escaping-off"])
def test_no_payload_runs_in_chromium(
    escaped: bool, hostile_report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_report_browser import _chromium

    exe = _chromium()
    page = hostile_report / "parity.html"
    if not escaped:
        monkeypatch.setattr(escape, "html", _identity)
        page = tmp_path / "parity.html"
        page.write_text(_render(tmp_path)[0], encoding="utf-8")
    seen = _probe(exe, page)
    clean = {
        "pwned": "undefined",
        "foreign_img": 0,
        "handlers": 0,
        "svg": 0,
        "js_links": 0,
        "scripts": 2,  # the report's sort script and the probe
    }
    if escaped:
        assert seen == clean
    else:  # the probe sees the payloads: the check can fail
        assert seen["pwned"] == "number" and seen["foreign_img"] > 0, seen
