"""Response time of ``chemohost serve``: from a dose change to the updated plot in the browser.

Starts ``chemohost serve`` on 127.0.0.1 with ``--patients`` mice per arm (default 100), opens it in
headless Chromium (Playwright driving Debian's ``chromium``), waits for the first view, then changes
arm 1's dose ``--changes`` times (default 10) and measures, for each, the wall time from pressing
Enter in the dose field to the moment the page shows the new update — the status line is written
after the figures' data, in the same document change, so the plot has been updated by then.
Prints each time and the median.

    python benchmarks/bench_serve.py --patients 100 --changes 10
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("bench_serve: Debian's chromium is not installed (apt-get install chromium)")
        return 1
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).with_name("chemohost")), "serve", "--port", str(port),
                               "--patients", str(args.patients)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url, timeout=300)
                break
            except OSError:
                time.sleep(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                "--disable-background-networking", "--disable-component-update"])
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(url, timeout=300_000)
            status = page.locator(".status div")
            status.wait_for(timeout=300_000)
            deadline = time.time() + 300
            while not status.inner_text().startswith("Update 1") and time.time() < deadline:
                time.sleep(0.05)
            times = []
            for k in range(args.changes):
                before = status.inner_text()
                page.fill(".arm1-dose input", str(20 + k))
                started = time.perf_counter()
                page.press(".arm1-dose input", "Enter")
                while True:  # the status sits in a shadow root: Playwright's locator reads through it
                    text = status.inner_text()
                    if text != before and text.startswith("Update"):
                        break
                    time.sleep(0.01)
                times.append(time.perf_counter() - started)
                print(f"change {k + 1}: {times[-1]:.3f} s  ({status.inner_text().strip()})", flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    print(f"median response time over {len(times)} dose changes, {args.patients} mice: "
          f"{statistics.median(times):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
