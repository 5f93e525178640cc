"""Throughput of chemohost's batch engine against SciPy ``solve_ivp``, vmapped diffrax and libRoadRunner.

Every (engine, size) case runs in a fresh subprocess pinned to ``--threads``
CPUs, so compile caches, JIT state and memory peaks never mix between cases.
Inside a case the engine is first warmed up on a small batch (its wall time is
reported as *compile*), then one timed call simulates the batch.

Run ``python benchmarks/bench_engine.py --help`` for the options and
``benchmarks/README.md`` for what each column means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ENGINES = ("chemohost", "diffrax", "scipy", "roadrunner")
REGIMEN = "paclitaxel 25 mg/kg iv bolus q7d x4 from day 7"
BODY_WEIGHT = 0.02  # kg
GOMPERTZ = ("Gompertz initial growth rate [1/day]", "Gompertz deceleration rate [1/day]")
LOG_SD = np.array([0.24, 0.54])
LOG_CORR = 0.94
PACLITAXEL_MODEL = {"growth": "gompertz", "damage": "simeoni_transit", "drugs": {"paclitaxel": {"kill": "linear"}}}


# ----------------------------------------------------------------------------- the case
def paclitaxel_case(n: int, seed: int):
    """The brief's model and ``n`` patients: log-normal Gompertz α0, β (SD of log 0.24, 0.54; corr 0.94)."""
    import chemohost as ch

    model = ch.Model(PACLITAXEL_MODEL)
    defaults = model.default_parameters()
    cov = LOG_CORR * LOG_SD[0] * LOG_SD[1]
    omega = np.array([[LOG_SD[0] ** 2, cov], [cov, LOG_SD[1] ** 2]])
    eta = np.random.default_rng(seed).multivariate_normal(np.zeros(2), omega, size=n, method="cholesky")
    parameters = {name: defaults[name] * np.exp(eta[:, j]) for j, name in enumerate(GOMPERTZ)}
    return model, parameters


def reference_case(n: int, seed: int):
    """The reference study's model and a cohort of ``n`` patients drawn with its typical values and variability."""
    from chemohost.study import plan_study, reference_study

    config = reference_study()
    config = config.model_copy(update={"cohort": config.cohort.model_copy(update={"size": n, "seed": seed})})
    plan = plan_study(config)
    return plan.model, {c: plan.cohort[c].to_numpy(float) for c in plan.cohort.columns}


CASES = {"reference": reference_case, "paclitaxel": paclitaxel_case}


def subset(parameters: dict, n: int) -> dict:
    return {k: v[:n] for k, v in parameters.items()}


# ------------------------------------------------------------------------- memory (Linux)
def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its threads [s]."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def reset_peak_rss() -> bool:
    """Reset the kernel's resident-set high-water mark (VmHWM) of this process; False if not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------- libRoadRunner
_ROADRUNNER: dict = {}


def roadrunner_instance(model, parameters: dict, args):
    """libRoadRunner loaded with the model's exported SBML (the first patient's values, the regimen as events)
    and the SBML ids by chemohost name; built once per process."""
    if "rr" not in _ROADRUNNER:
        import roadrunner
        from chemohost.sbml import sbml_ids, to_sbml

        first = {name: float(values[0]) for name, values in parameters.items()}
        text = to_sbml(model, REGIMEN, first, until=args.days, covariates={"Body weight [kg]": BODY_WEIGHT})
        rr = roadrunner.RoadRunner(text)
        rr.integrator.relative_tolerance = args.rtol
        rr.integrator.absolute_tolerance = args.atol
        rr.integrator.maximum_num_steps = 200_000
        ids = sbml_ids(model)
        rr.timeCourseSelections = ["time", *(ids[name] for name in model.state_names)]
        _ROADRUNNER.update(rr=rr, ids=ids)
    return _ROADRUNNER["rr"], _ROADRUNNER["ids"]


def simulate_roadrunner(model, parameters: dict, times: np.ndarray, args) -> np.ndarray:
    """The usual libRoadRunner loop: per patient, ``resetAll`` (states, time and the inputs the events switched),
    set the parameters that differ, simulate; returns (patients, times, states).

    Parameters are set as current values: setting ``init(...)`` values instead makes libRoadRunner 2.10 spend
    ~17 s per patient on the reference model, and ``resetAll`` followed by ``reset`` gave wrong trajectories
    (both checked against a freshly loaded instance per patient).
    Current values do not re-run initial assignments, so no varying parameter may enter an initial value."""
    rr, ids = roadrunner_instance(model, parameters, args)
    varying = {name: np.asarray(values, float) for name, values in parameters.items()
               if np.ptp(np.asarray(values, float)) > 0}
    in_initial = {str(x) for s in model.states for x in s.initial.free_symbols} & set(varying)
    if in_initial:
        raise ValueError(f"roadrunner engine: varying parameters set initial values: {sorted(in_initial)}")
    keys = [(ids[name], values) for name, values in varying.items()]
    n = len(next(iter(parameters.values())))
    out = np.empty((n, times.size, len(model.states)))
    for i in range(n):
        rr.resetAll()
        for key, values in keys:
            rr.setValue(key, values[i])
        out[i] = rr.simulate(times=times)[:, 1:]
    return out


# -------------------------------------------------------------------------------- workers
def run_engine(engine: str, model, parameters: dict, times: np.ndarray, args) -> None:
    covariates = {"Body weight [kg]": BODY_WEIGHT}
    if engine == "chemohost":
        import chemohost as ch

        save = None if args.save == "all" else model.state_names  # "states": the same result the peers return
        ch.simulate(model, REGIMEN, parameters, times, covariates=covariates, rtol=args.rtol, atol=args.atol,
                    threads=args.threads, save=save)
    elif engine == "diffrax":
        from chemohost.engine._jax import simulate_diffrax

        simulate_diffrax(model, REGIMEN, parameters, times, covariates=covariates, rtol=args.rtol, atol=args.atol,
                         method=args.diffrax_solver, chunk_size=args.chunk)
    elif engine == "roadrunner":
        simulate_roadrunner(model, parameters, times, args)
    else:
        from chemohost.engine._scipy import simulate_scipy

        simulate_scipy(model, REGIMEN, parameters, times, covariates=covariates, rtol=args.rtol, atol=args.atol,
                       method=args.scipy_method)


def worker(engine: str, n: int, args) -> dict:
    """Warm up, then time ``engine`` on ``n`` patients (best of ``--repeat`` calls); returns the case's record."""
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.threads]))
    model, parameters = CASES[args.model](n, args.seed)
    times = np.arange(0.0, args.days + 1.0)
    serial = {"scipy": args.scipy_patients, "roadrunner": args.roadrunner_patients}
    simulated = min(n, serial[engine]) if engine in serial else n
    warm = {"chemohost": 64, "diffrax": min(n, args.chunk), "scipy": 2, "roadrunner": 2}[engine]
    start = time.perf_counter()
    run_engine(engine, model, subset(parameters, warm), times, args)
    compile_s = time.perf_counter() - start
    measured = subset(parameters, simulated)
    reset = reset_peak_rss()
    rss_before = _status_kib("VmRSS")
    wall = cpu = np.inf
    for _ in range(args.repeat):
        cpu_before, start = _cpu_seconds(), time.perf_counter()
        run_engine(engine, model, measured, times, args)
        elapsed = time.perf_counter() - start
        if elapsed < wall:
            wall, cpu = elapsed, _cpu_seconds() - cpu_before
    peak = _status_kib("VmHWM")
    return {
        "engine": engine, "patients": n, "simulated": simulated, "wall_s": wall, "cpu_s": cpu,
        "throughput": simulated / wall, "compile_s": compile_s, "load_1min": os.getloadavg()[0],
        "peak_rss_delta_mib": (peak - rss_before) / 1024 if reset else None,
        "peak_rss_mib": peak / 1024, "states": len(model.states), "model": repr(model),
    }


def run_case(engine: str, n: int, args, cache: str) -> dict:
    """Run one case in a fresh subprocess; a failure or timeout becomes a skipped record."""
    env = dict(os.environ, NUMBA_NUM_THREADS=str(args.threads), OMP_NUM_THREADS="1", CHEMOHOST_CACHE_DIR=cache)
    cmd = [sys.executable, __file__, "--worker", engine, str(n), *sys.argv[1:]]
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.case_timeout)
    except subprocess.TimeoutExpired:
        return {"engine": engine, "patients": n, "skipped": f"over --case-timeout {args.case_timeout:g} s"}
    if done.returncode != 0:
        return {"engine": engine, "patients": n, "skipped": "failed: " + done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# -------------------------------------------------------------------------------- report
def table(records: list[dict], args) -> str:
    lines = [
        f"{'engine':<10} {'patients':>9} {'timed':>7} {'wall s':>8} {'cpu s':>7} {'patients/s':>11} "
        f"{'compile s':>10} {'peak dRSS MiB':>14} {'peak RSS MiB':>13} {'load':>5}"
    ]
    for r in records:
        if "skipped" in r:
            lines.append(f"{r['engine']:<10} {r['patients']:>9} skipped: {r['skipped']}")
            continue
        delta = f"{r['peak_rss_delta_mib']:.0f}" if r["peak_rss_delta_mib"] is not None else "n/a"
        lines.append(
            f"{r['engine']:<10} {r['patients']:>9} {r['simulated']:>7} {r['wall_s']:>8.2f} {r['cpu_s']:>7.2f} "
            f"{r['throughput']:>11.0f} {r['compile_s']:>10.2f} {delta:>14} {r['peak_rss_mib']:>13.0f} "
            f"{r['load_1min']:>5.1f}"
        )
    by = {(r["engine"], r["patients"]): r for r in records if "skipped" not in r}
    lines.append("")
    for n in args.sizes:
        ours = by.get(("chemohost", n))
        ratios = [f"{peer} {ours['throughput'] / by[(peer, n)]['throughput']:.1f}x"
                  for peer in ENGINES[1:] if ours and (peer, n) in by]
        if ratios:
            lines.append(f"chemohost throughput / peer at {n} patients: " + ", ".join(ratios))
    if 10_000 in args.sizes and 100_000 in args.sizes:
        for engine in ENGINES:
            if (engine, 10_000) in by and (engine, 100_000) in by:
                change = by[(engine, 100_000)]["throughput"] / by[(engine, 10_000)]["throughput"] - 1
                lines.append(f"{engine} throughput change 1e4 -> 1e5 patients: {change:+.0%}")
    return "\n".join(lines)


def settings_text(args) -> str:
    return (
        f"model: {args.model}; regimen: {REGIMEN}; body weight {BODY_WEIGHT} kg; {args.days:g} days, daily output; "
        f"rtol {args.rtol:g}, atol {args.atol:g}; {args.threads} thread(s); best of {args.repeat} timed call(s)\n"
        f"chemohost: chemohost.simulate (dopri5, Dataset with {'the states' if args.save == 'states' else 'states and derived outputs'}); "
        f"diffrax: {args.diffrax_solver}, vmapped, chunks of {args.chunk}; "
        f"scipy: solve_ivp {args.scipy_method}, serial loop over the first {args.scipy_patients} patients of each "
        f"batch (per-patient throughput); roadrunner: libRoadRunner CVODE (its default BDF) on chemohost's exported "
        f"SBML, a Python loop (resetAll, set the parameters that differ, simulate) over the first "
        f"{args.roadrunner_patients} patients of each batch (per-patient throughput)\n"
        "compile s: wall time of the warm-up call (numba compile into an empty cache, JAX trace + XLA compile, "
        "lambdify, SBML export + libRoadRunner's LLVM compile), excluded from patients/s\n"
        "peak dRSS: rise of the resident-set high-water mark (VmHWM, reset before the timed call) over the RSS "
        "before it, in a fresh subprocess per case; peak RSS: whole-process high-water mark\n"
        "cpu s: user + system CPU time of the timed call; load: 1-minute load average after it (above --threads, "
        "other processes shared the CPUs and wall times are inflated)"
    )


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda s: [int(float(x)) for x in s.split(",")],
                        default=[1_000, 10_000, 100_000], help="patients per case, comma separated (1e3,1e4 works)")
    parser.add_argument("--threads", type=int, default=2, help="CPUs each case is pinned to; numba threads")
    parser.add_argument("--engines", type=lambda s: s.split(","), default=list(ENGINES))
    parser.add_argument("--model", choices=sorted(CASES), default="reference",
                        help="the reference study's model (default) or the paclitaxel-only model")
    parser.add_argument("--days", type=float, default=84.0)
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--atol", type=float, default=1e-9)
    parser.add_argument("--repeat", type=int, default=1, help="timed calls per case; the fastest is reported")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--scipy-patients", type=int, default=200)
    parser.add_argument("--roadrunner-patients", type=int, default=200,
                        help="patients libRoadRunner's serial loop times per batch (per-patient throughput)")
    parser.add_argument("--scipy-method", default="RK45", help="solve_ivp method (RK45 = dopri5's tableau)")
    parser.add_argument("--diffrax-solver", default="Tsit5")
    parser.add_argument("--chunk", type=int, default=1000, help="patients per vmapped diffrax solve")
    parser.add_argument("--case-timeout", type=float, default=900.0, help="seconds before a case is skipped")
    parser.add_argument("--save", choices=("states", "all"), default="states",
                        help="what chemohost keeps: the states (as the peers return; default) or every derived output too")
    parser.add_argument("--json", help="write the settings and records to this file")
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "N"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]), args)))
        return
    print(settings_text(args), flush=True)
    records = []
    with tempfile.TemporaryDirectory(prefix="chemohost-bench-") as root:
        for n in args.sizes:
            for engine in args.engines:
                cache = os.path.join(root, f"{engine}-{n}")  # empty kernel cache: compile s is a cold compile
                records.append(run_case(engine, n, args, cache))
                print(f"  done: {engine} {n}", file=sys.stderr, flush=True)
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible\n")
    print(table(records, args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"settings": vars(args) | {"regimen": REGIMEN}, "records": records}, f, indent=2)


if __name__ == "__main__":
    main()
