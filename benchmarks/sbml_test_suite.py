"""SBML Test Suite conformance of chemohost's SBML import.

Runs the semantic time-course cases in ``../shared/conformance/sbml-test-suite``
(read in place; see its SOURCE.md): each case is imported with
:func:`chemohost.sbml.load`, simulated with the case's start, duration and
number of steps, and its reported variables (as amounts or concentrations, as
the settings file says) are compared with the expected results:
a case passes when |simulated − expected| ≤ absolute + relative × |expected| for
every variable at every time. A case chemohost refuses (an unsupported
construct, :class:`chemohost.sbml.SbmlError`) counts as *refused*, not passed.

The LSODA integrator with event location is used for every case (nothing is
compiled, so a case takes a fraction of a second), cases run in ``--workers``
processes, and each case has a ``--timeout``.

    python benchmarks/sbml_test_suite.py                      # all cases, table to stdout
    python benchmarks/sbml_test_suite.py --csv out.csv --markdown docs/sbml_support.md
    python benchmarks/sbml_test_suite.py --cases 1-100,950     # a selection
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

SHARED = (Path(os.environ["CHEMOHOST_SHARED_DATA"]).parent if os.environ.get("CHEMOHOST_SHARED_DATA")
          else Path(__file__).resolve().parents[2] / "shared")
SUITE = SHARED / "conformance" / "sbml-test-suite"
"""``../shared`` from the repository root, or the parent of ``$CHEMOHOST_SHARED_DATA`` where that is set."""
RTOL, ATOL = 1e-10, 1e-14
"""Solver tolerances (far below the cases' own, which are 1e-4 relative)."""


def read_index(suite: Path) -> list[dict[str, object]]:
    """The cases of ``index.tsv``: id, component tags, test tags, synopsis."""
    rows = []
    with open(suite / "index.tsv", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            split = [t.strip() for t in (row["componentTags"] or "").split(",") if t.strip()]
            tests = [t.strip() for t in (row["testTags"] or "").split(",") if t.strip()]
            rows.append({"case": row["case"], "components": split, "tests": tests, "synopsis": row["synopsis"]})
    return rows


def read_settings(path: Path) -> dict[str, object]:
    """A case's settings: start, duration, steps, variables, tolerances, amount and concentration lists."""
    settings: dict[str, object] = {}
    for line in path.read_text().splitlines():
        if ":" not in line:
            continue
        key, value = (x.strip() for x in line.split(":", 1))
        if key in ("variables", "amount", "concentration"):
            settings[key] = [v.strip() for v in value.split(",") if v.strip()]
        elif key in ("start", "duration", "absolute", "relative"):
            settings[key] = float(value)
        elif key == "steps":
            settings[key] = int(value)
    return settings


def _within(sim: np.ndarray, expected: np.ndarray, absolute: float, relative: float) -> np.ndarray:
    both_nan = np.isnan(sim) & np.isnan(expected)
    same_inf = np.isinf(expected) & (sim == expected)
    with np.errstate(invalid="ignore"):
        close = np.abs(sim - expected) <= absolute + relative * np.abs(expected)
    return both_nan | same_inf | close


class _Timeout(Exception):
    pass


def _alarm(signum, frame):  # pragma: no cover - only on a hung case
    raise _Timeout


def run_case(args: tuple[str, Path, float]) -> dict[str, object]:
    """Import, simulate and score one case; ``status`` is pass, fail, refused or error."""
    case, suite, timeout = args
    from chemohost.sbml import SbmlError, load, trajectory

    folder = suite / "cases" / case
    settings = read_settings(folder / f"{case}-settings.txt")
    table = np.genfromtxt(folder / f"{case}-results.csv", delimiter=",", skip_header=1, ndmin=2)
    header = [c.strip() for c in (folder / f"{case}-results.csv").read_text().splitlines()[0].split(",")]
    expected_times, expected = table[:, 0], table[:, 1:]
    started = time.perf_counter()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(timeout))
    try:
        model = load(folder / f"{case}-sbml-l3v2.xml")
        ids = header[1:]  # the settings' variables, in the order of the results' columns
        sim = trajectory(model, expected_times, ids, settings.get("amount", ()), settings.get("concentration", ()),
                         rtol=RTOL, atol=ATOL)
        ok = _within(sim, expected, settings["absolute"], settings["relative"])
        if ok.all():
            status, message = "pass", ""
        else:
            row, col = np.argwhere(~ok)[0]
            status = "fail"
            message = f"{ids[col]} at t={expected_times[row]:g}: {sim[row, col]:.6g}, expected {expected[row, col]:.6g}"
    except SbmlError as exc:
        status, message = "refused", str(exc).split(": ", 1)[-1]
    except _Timeout:
        status, message = "error", f"timed out after {timeout:g} s"
    except Exception as exc:  # noqa: BLE001 - a conformance run reports every failure and goes on
        status, message = "error", f"{type(exc).__name__}: {exc}"[:200]
    finally:
        signal.alarm(0)
    return {"case": case, "status": status, "seconds": round(time.perf_counter() - started, 3),
            "message": " ".join(message.split())}


def _select(rows, spec: str | None):
    if not spec:
        return rows
    wanted = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        wanted |= set(range(int(lo), int(hi or lo) + 1))
    return [r for r in rows if int(r["case"]) in wanted]


def run(rows, suite: Path, workers: int, timeout: float) -> list[dict[str, object]]:
    """Results of ``rows`` (cases of :func:`read_index`), in order, computed in ``workers`` processes."""
    jobs = [(r["case"], suite, timeout) for r in rows]
    if workers <= 1:
        results = [run_case(j) for j in jobs]
    else:
        with multiprocessing.get_context("fork").Pool(workers, maxtasksperchild=100) as pool:
            results = pool.map(run_case, jobs, chunksize=4)
    for row, result in zip(rows, results):
        result["components"] = ", ".join(row["components"])
        result["tests"] = ", ".join(row["tests"])
    return results


def tag_table(results) -> list[tuple[str, int, int, int, int, int]]:
    """(tag, cases, passed, failed, refused, errors) for every component and test tag, then the total."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    column = {"pass": 1, "fail": 2, "refused": 3, "error": 4}
    for r in results:
        tags = [t for t in (r["components"] + ", " + r["tests"]).split(", ") if t]
        for tag in [*dict.fromkeys(tags), "all cases"]:
            counts[tag][0] += 1
            counts[tag][column[r["status"]]] += 1
    order = sorted((t for t in counts if t != "all cases"), key=lambda t: (-counts[t][0], t))
    return [(t, *counts[t]) for t in [*order, "all cases"]]


def markdown(results, command: str) -> str:
    """The support matrix: a table per tag and the list of cases that do not pass."""
    table = tag_table(results)
    total = table[-1]
    lines = [
        "# SBML support matrix",
        "",
        "Generated by `benchmarks/sbml_test_suite.py` from a run over the SBML Test Suite semantic time-course",
        "cases in `../shared/conformance/sbml-test-suite` (1,082 cases, SBML Level 3 Version 2; see its SOURCE.md).",
        "A case passes when every reported variable at every reported time is within the case's absolute +",
        "relative tolerance; a case chemohost refuses (unsupported construct, named in the error) counts as not",
        "passed. Do not edit by hand; regenerate with:",
        "",
        f"    {command}",
        "",
        f"**{total[2]} of {total[1]} cases pass ({100 * total[2] / max(total[1], 1):.1f} %)**; "
        f"{total[3]} fail, {total[4]} refused, {total[5]} errors.",
        "",
        "| Tag | Cases | Pass | Fail | Refused | Error | Pass % |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for tag, n, ok, bad, refused, err in table:
        name = f"**{tag}**" if tag == "all cases" else tag
        lines.append(f"| {name} | {n} | {ok} | {bad} | {refused} | {err} | {100 * ok / n:.1f} |")
    lines += [
        "",
        "## What the importer reads and refuses",
        "",
        "Read: compartments (constant or varying size, 0-D), species (amounts and concentrations,",
        "`hasOnlySubstanceUnits`, boundary, constant, conversion factors), global and local parameters,",
        "reactions with kinetic laws and (assigned or varying) stoichiometry, rate, assignment and initial",
        "assignments, function definitions (inlined), events without delay (triggers located on the step,",
        "`initialValue`, `persistent`, `useValuesFromTriggerTime`), piecewise, and the MathML operators of",
        "SBML L3V2 (incl. `rem`, `quotient`, `min`, `max`, `implies`, the `time` and `avogadro` csymbols).",
        "Elements that L3V2 allows to lack math (rules, assignments, triggers) have no effect.",
        "",
        "Refused with an error naming the element: algebraic rules, event delays and priorities, the",
        "`delay` and `rateOf` csymbols, fast reactions, `stoichiometryMath`, and every SBML Level 3 package",
        "but `layout` and `render`; SBML Level 1. Constraints are not evaluated.",
    ]
    others = [r for r in results if r["status"] != "pass"]
    if others:
        lines += ["", "## Cases that do not pass", "", "| Case | Status | Tags | Reason |", "|---|---|---|---|"]
        for r in others:
            lines.append(f"| {r['case']} | {r['status']} | {r['components']}; {r['tests']} | "
                         f"{str(r['message']).replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", type=Path, default=SUITE, help="folder with index.tsv and cases/")
    parser.add_argument("--cases", help="case numbers, e.g. 1-100,950 (default: all in index.tsv)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per case before it counts as an error")
    parser.add_argument("--csv", type=Path, help="write one row per case here")
    parser.add_argument("--markdown", type=Path, help="write the support matrix (Markdown) here")
    args = parser.parse_args(argv)
    if not (args.suite / "index.tsv").is_file():
        print(f"error: no SBML Test Suite at {args.suite} (give --suite)", file=sys.stderr)
        return 2
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    rows = _select(read_index(args.suite), args.cases)
    started = time.perf_counter()
    results = run(rows, args.suite, args.workers, args.timeout)
    elapsed = time.perf_counter() - started
    print(f"{'tag':28s} {'cases':>6s} {'pass':>6s} {'fail':>6s} {'refused':>8s} {'error':>6s}")
    for tag, n, ok, bad, refused, err in tag_table(results):
        print(f"{tag:28s} {n:6d} {ok:6d} {bad:6d} {refused:8d} {err:6d}")
    total = tag_table(results)[-1]
    print(f"passed {total[2]} of {total[1]} ({100 * total[2] / max(total[1], 1):.1f} %) in {elapsed:.0f} s")
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, ["case", "status", "components", "tests", "seconds", "message"])
            writer.writeheader()
            writer.writerows(results)
    if args.markdown:
        command = "python benchmarks/sbml_test_suite.py --workers 2 --markdown docs/sbml_support.md"
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(results, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
