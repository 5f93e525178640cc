"""``chemohost serve`` driven the way a person uses it, in headless Chromium (Playwright).

The server runs as a real ``chemohost serve`` process on 127.0.0.1, started and
stopped by the fixture. Chromium is Debian's (``.ci/run`` installs it when
missing); Playwright drives it through its executable path.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
CHEMOHOST = str(Path(sys.executable).with_name("chemohost"))
PATIENTS = 20
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening_addresses(port: int) -> set[str]:
    """Local IPv4 addresses with a socket listening on ``port`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    proc = subprocess.Popen([CHEMOHOST, "serve", "--port", str(port), "--patients", str(PATIENTS)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 600  # the first start compiles the reference model's kernel
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"chemohost serve exited: {proc.stdout.read()[-2000:]}")
            try:
                urllib.request.urlopen(url, timeout=300)
                break
            except OSError:
                if time.time() > deadline:
                    pytest.fail("chemohost serve did not answer within 600 s")
                time.sleep(1)
        yield port, url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _update_number(page) -> int:
    text = page.locator(".status div").inner_text()
    return int(text.split("Update ")[1].split(":")[0]) if text.startswith("Update ") else -1


def _wait_for_update(page, after: int, timeout=120.0) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        n = _update_number(page)
        if n > after:
            return n
        time.sleep(0.1)
    raise AssertionError(f"the view was not updated after update {after}: {page.locator('.status div').inner_text()}")


def _settle(page, quiet=2.0, timeout=120.0) -> int:
    """The update number once the view has stopped changing for ``quiet`` seconds."""
    deadline, last, since = time.time() + timeout, None, time.time()
    while time.time() < deadline:
        text = page.locator(".status div").inner_text()
        if text != last:
            last, since = text, time.time()
        elif time.time() - since > quiet and text.startswith("Update "):
            return _update_number(page)
        time.sleep(0.1)
    raise AssertionError(f"the view did not settle: {last}")


def test_the_server_listens_on_loopback_only(server):
    port, _ = server
    assert _listening_addresses(port) == {"127.0.0.1"}


def test_a_person_composes_compares_downloads_and_reruns(server, browser, tmp_path):
    _, url = server
    page = browser.new_page(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
    page.goto(url, timeout=120_000)
    page.wait_for_selector(".status", timeout=120_000)
    n = _wait_for_update(page, 0)
    page.screenshot(path=tmp_path / "reference.png", full_page=True)

    # change the drug of arm 1, then add a CXCR4 antagonist from day 12
    page.select_option(".arm1-drug select", "gemcitabine")
    n = _wait_for_update(page, n)
    page.select_option(".arm1-blocker1-agent select", "amd3100")
    n = _wait_for_update(page, n)
    page.fill(".arm1-blocker1-start input", "12")
    page.press(".arm1-blocker1-start input", "Enter")
    _wait_for_update(page, n)
    n = _settle(page)

    # an invalid regimen: an inline message next to the field, and the last valid view stays
    n = _settle(page)
    page.fill(".arm2-custom input", "paclitaxel 25 mg/kg iv q7d x3 frm day 10")
    error = page.locator(".arm2-error")
    error.wait_for(state="visible", timeout=30_000)
    assert "frm" in page.locator(".arm2-error div").inner_text()
    page.press(".arm2-custom input", "Enter")
    page.locator(".status div", has_text=f"Showing the last valid view (update {n})").wait_for(timeout=30_000)
    time.sleep(1.0)
    assert f"last valid view (update {n})" in page.locator(".status div").inner_text()
    page.screenshot(path=tmp_path / "invalid.png", full_page=True)

    # fix it: the message goes and the two arms are compared
    page.fill(".arm2-custom input", "paclitaxel 25 mg/kg iv q7d x3 from day 10 + DC101 800 ug iv q3d from day 12")
    page.press(".arm2-custom input", "Enter")
    n = _wait_for_update(page, n)
    assert not error.is_visible()
    assert "2 arm(s)" in page.locator(".status div").inner_text()
    page.screenshot(path=tmp_path / "two_arms.png", full_page=True)

    with page.expect_download(timeout=60_000) as info:
        page.click(".download-yaml button")
    study = tmp_path / "study.yaml"
    info.value.save_as(study)
    with page.expect_download(timeout=60_000) as info:
        page.click(".download-csv button")
    medians = tmp_path / "medians.csv"
    info.value.save_as(medians)
    assert "gemcitabine" in study.read_text() and "amd3100 5 mg/kg sc q1d from day 12" in study.read_text()

    # the downloaded study, run with `chemohost run`, gives the same medians
    out = tmp_path / "rerun"
    done = subprocess.run([CHEMOHOST, "run", str(study), "--out", str(out), "--no-progress"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    from chemohost.io import load_results

    rerun = load_results(out / "results.nc")
    table = pd.read_csv(medians)
    for (arm, name), rows in table.groupby(["arm", "variable"]):
        expected = rerun[name].sel(arm=arm).median("patient").values
        np.testing.assert_allclose(rows["median"].to_numpy(), expected, rtol=1e-9)
    page.close()


@pytest.mark.parametrize("option, value, word", [("--patients", "5000", "patients"),
                                                 ("--duration", "1000", "duration")])
def test_sizes_above_the_bounds_are_refused(option, value, word):
    done = subprocess.run([CHEMOHOST, "serve", "--port", str(_free_port()), option, value], capture_output=True,
                          text=True, timeout=300, env={**os.environ})
    assert done.returncode == 2
    assert word in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
