"""The HTML report opens in headless Chromium: no script errors, tables and plots in the DOM,
and a non-blank screenshot. Fails (does not skip) in CI when Chromium is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from conformance import report

from .report_fixtures import synthetic


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but no Chromium: .ci/run installs it with apt-get install chromium")
    pytest.skip("Chromium is not installed (apt-get install chromium)")


def _browse(exe: str, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--enable-logging=stderr",
                "--v=0",
                f"--user-data-dir={profile}",
                *args,
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )


def test_html_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    exe = _chromium()
    rows, store = synthetic(tmp_path / "cases")
    out = tmp_path / "rep"
    report.write(rows, out, ["html"], outputs=store, env={"cpu": "Test CPU"})
    page = out / "parity.html"

    dom = _browse(exe, page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "Uncaught" not in dom.stderr, dom.stderr[-2000:]
    assert 'id="T_parity"' in html and 'id="T_ulp"' in html and 'id="T_summary"' in html
    assert html.count('<img class="plot"') >= 2 and "data:image/png;base64," in html
    assert 'title="click to sort"' in html  # the inline sort script ran
    assert "fail 1500000 ulp" in html and "Test CPU" in html

    shot = tmp_path / "shot.png"
    res = _browse(exe, page, f"--screenshot={shot}", "--window-size=1400,2400", "--hide-scrollbars")
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    import matplotlib.image as mpimg

    pixels = np.asarray(mpimg.imread(str(shot)))
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1300
    assert float(pixels[..., :3].std()) > 0.05  # not blank
    keep = os.environ.get("CONFORMANCE_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
