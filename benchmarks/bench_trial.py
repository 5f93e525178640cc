"""Scale of a chunked trial: patients/s, peak memory and Dask's overhead at 10⁴, 10⁵ and 10⁶ patients.

For each size three cases run, each in a fresh subprocess (so compile caches,
JIT state and memory peaks never mix), after a warm-up chunk that is not timed:

- ``plain``: ``simulate_patients`` on the same chunks in a plain Python loop, results dropped;
- ``plain+store``: the same loop writing each chunk into a trial store (no Dask);
- ``dask``: :func:`chemohost.trial.run_trial` (Dask tasks, the same store), in-process by default
  or on ``--workers`` local worker processes.

Printed per case: wall seconds, patients/s, and the peak resident memory of the
whole process tree (the case's process and every worker it starts, summed;
sampled every 0.1 s with psutil). The Dask overhead is ``dask / plain+store - 1``
(what Dask adds over the same chunks and writes) and, stricter, ``dask / plain - 1``
(Dask and storage together over the bare engine).

    python benchmarks/bench_trial.py                          # 1e4, 1e5 patients of the nsclc trial
    python benchmarks/bench_trial.py --sizes 1e6 --cases dask  # the million alone
    python benchmarks/bench_trial.py --sizes 1e4 --workers 2 --json out.json

Targets (issue 15): patients/s at 10⁶ within 20% of 10⁴; peak memory under
3 GB at 10⁶; Dask overhead under 15%.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CASES = ("plain", "plain+store", "dask")
WARMUP = 64
"""Patients of the untimed warm-up call."""


def load(args):
    """``(trial, simulate)`` for ``--trial`` (a built-in name or file); ``--standin`` uses the test stand-in."""
    if args.standin:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from trial_standin import StandinTrial, simulate_patients

        return StandinTrial(), simulate_patients
    from chemohost.trial import load_trial, simulate_patients

    return load_trial(args.trial), simulate_patients


def run_case(args) -> dict:
    """One case in this process: warm up, then time it; prints a JSON line."""
    from chemohost.trial._execute import run_trial
    from chemohost.trial._store import TrialStore, chunks_of

    trial, simulate = load(args)
    warm = time.perf_counter()
    simulate(trial, 0, min(WARMUP, args.n))  # compile or load the kernel; not timed
    warm = time.perf_counter() - warm
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        started = time.perf_counter()
        if args.case == "dask":
            run_trial(trial, args.n, Path(tmp) / "store", chunk_size=args.chunk_size, workers=args.workers,
                      progress=False, simulate=simulate)
        else:
            store = None
            if args.case == "plain+store":
                store = TrialStore.open(Path(tmp) / "store", trial=trial.name, fingerprint=trial.fingerprint(),
                                        seed=trial.seed, patients=args.n, chunk_size=args.chunk_size)
            for chunk in chunks_of(args.n, args.chunk_size):
                ds = simulate(trial, chunk.start, chunk.stop).load()
                if store is not None:
                    store.write_chunk(chunk, ds, seed=trial.seed, block=1024)
                del ds
        seconds = time.perf_counter() - started
    return {"case": args.case, "patients": args.n, "seconds": seconds, "warmup_s": warm}


def tree_rss(pid: int) -> int:
    """Resident bytes of process ``pid`` and all its descendants."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def measure(args, n: int, case: str) -> dict:
    """Run one case in a subprocess, sampling its process tree's memory."""
    cmd = [sys.executable, __file__, "--child", "--case", case, "--n", str(n), "--chunk-size", str(args.chunk_size),
           "--trial", args.trial, "--tmp", args.tmp or tempfile.gettempdir()]
    cmd += ["--workers", str(args.workers)] if args.workers and case == "dask" else []
    cmd += ["--standin"] if args.standin else []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak, stop = [0], threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss(proc.pid))
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate(timeout=args.case_timeout)
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"case {case} at {n} patients failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result.update(peak_rss_gb=peak[0] / 1e9, patients_per_s=n / result["seconds"])
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1e4,1e5", help="patients, comma separated (default 1e4,1e5)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma separated from {', '.join(CASES)}")
    parser.add_argument("--chunk-size", type=int, default=8192)
    parser.add_argument("--workers", type=int, default=None, help="run the dask case on N local worker processes")
    parser.add_argument("--trial", default="nsclc")
    parser.add_argument("--standin", action="store_true", help="the tests' stand-in trial (checks the script)")
    parser.add_argument("--tmp", default=None, help="folder for the temporary stores")
    parser.add_argument("--case-timeout", type=float, default=4 * 3600)
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_case(args)))
        return
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    cases = [c for c in args.cases.split(",") if c]
    load_avg = os.getloadavg()
    print(f"trial {'stand-in' if args.standin else args.trial}; chunk size {args.chunk_size}; "
          f"dask on {f'{args.workers} local workers' if args.workers else 'the in-process scheduler'}; "
          f"{os.cpu_count()} CPUs, load average {load_avg[0]:.2f} at start; {platform.python_version()}")
    print(f"{'patients':>9} {'case':>12} {'seconds':>9} {'patients/s':>11} {'peak RSS GB':>12} {'warm-up s':>10}")
    results = []
    for n in sizes:
        for case in cases:
            r = measure(args, n, case)
            results.append(r)
            print(f"{n:>9} {case:>12} {r['seconds']:>9.2f} {r['patients_per_s']:>11.0f} {r['peak_rss_gb']:>12.2f} "
                  f"{r['warmup_s']:>10.1f}", flush=True)
        by = {r["case"]: r["seconds"] for r in results if r["patients"] == n}
        if "dask" in by and "plain+store" in by:
            print(f"{'':>9} Dask overhead over plain+store: {by['dask'] / by['plain+store'] - 1:+.1%}"
                  + (f"; Dask and storage over plain: {by['dask'] / by['plain'] - 1:+.1%}" if "plain" in by else ""))
    dask = {r["patients"]: r for r in results if r["case"] == "dask"}
    if len(dask) > 1:
        small, large = dask[min(dask)], dask[max(dask)]
        print(f"throughput at {large['patients']:,} / at {small['patients']:,}: "
              f"{large['patients_per_s'] / small['patients_per_s']:.2f}; load average now "
              f"{os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"load_average_start": load_avg, "results": results}, indent=1))


if __name__ == "__main__":
    main()
