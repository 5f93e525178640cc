"""Wall time of per-subject fits of every closed-form growth law to 1,500 synthetic clinical series.

Each synthetic patient has 3–12 assessments (every 6 weeks ± 1 week, RECIST's
usual schedule) of a tumour that regresses and regrows, f(t) = φ·e^{−d·t} +
(1 − φ)·e^{g·t} (the regression–regrowth form of Stein et al. 2008) from a
baseline sum of longest diameters of 20–150 mm. Sizes are converted to
sphere-equivalent volumes, V = π/6·D³ (as VALIDATION V12), and measured with
the RECIST observer error: the pooled inter-observer 95% limits of agreement
of the relative difference of a sum of diameters are −19.2% to +19.5% (Yoon
et al. 2016, Eur J Cancer 53:5, meta-analysis of 12 studies), i.e. an SD of
19.35%/1.96 = 9.9% for the difference of two readings and 9.9%/√2 = 7.0% for
one reading; in volume (∝ D³) that is a log-scale SD of 3·0.070 = 0.21.
The generating parameters (φ ~ U(0, 1), d and g log-normal around 0.01 and
0.003 per day) are chemohost choices [proposed], not estimates.

Every law of :func:`chemohost.calibration.growth_law_names` with a closed form
(exponential, logistic, gompertz, power_law, von_bertalanffy and
exponential_kill) is fitted to all patients with :class:`IndividualFitter`:
log-normal error with σ held at 0.21 (the RECIST figure above), the initial
volume estimated, clinical-scale bounds; exponential_kill holds its growth rate
at 0.003/day (the generating median) so that the kill rate is identifiable.
Printed per law: wall time, CPU time (this process and its workers), fitted subjects (``status`` column), subjects whose
predictions are all finite, and the total.

    python benchmarks/bench_fit_many.py                       # 1,500 patients, all CPUs
    python benchmarks/bench_fit_many.py --patients 300 --jobs 1 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
import warnings

import numpy as np
import pandas as pd

TV = "Tumour volume [mm3]"
V0 = "Initial tumour volume [mm3]"
RECIST_SD_LOG_VOLUME = 3 * (19.35 / 1.96) / 100 / math.sqrt(2)
"""Log-scale SD of one volume reading from the RECIST inter-observer limits of agreement (Yoon et al. 2016)."""

RATE = (1e-5, 0.5)
BOUNDS = {
    "exponential": {"Exponential growth rate [1/day]": RATE},
    "logistic": {"Logistic growth rate [1/day]": RATE, "Carrying capacity [mm3]": (1e2, 1e9)},
    "gompertz": {"Gompertz initial growth rate [1/day]": RATE, "Gompertz deceleration rate [1/day]": (1e-6, 1.0)},
    "power_law": {"Power-law growth coefficient [mm3^(1-gamma)/day]": (1e-4, 1e5), "Power-law exponent [-]": (0.05, 0.99)},
    "von_bertalanffy": {"Bertalanffy growth coefficient [mm3^(1-gamma)/day]": (1e-4, 1e5),
                        "Bertalanffy loss rate [1/day]": (1e-6, 1.0)},
    "exponential_kill": {"Treatment kill rate [1/day]": RATE},
}
"""Clinical-scale bounds of the estimated parameters [proposed]; V0 within 10²–10⁸ mm³."""
FIXED = {"exponential_kill": {"Exponential growth rate [1/day]": 0.003}}


def synthetic_series(n_patients: int, seed: int) -> pd.DataFrame:
    """The tidy table of ``n_patients`` synthetic clinical series (see the module docstring)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_patients):
        n = int(rng.integers(3, 13))
        times = np.r_[0.0, 42.0 * np.arange(1, n) + rng.uniform(-7.0, 7.0, n - 1)]
        phi, d, g = rng.uniform(0.0, 1.0), 0.01 * math.exp(0.5 * rng.normal()), 0.003 * math.exp(0.5 * rng.normal())
        diameter = rng.uniform(20.0, 150.0) * (phi * np.exp(-d * times) + (1 - phi) * np.exp(g * times)) ** (1 / 3)
        volume = math.pi / 6 * diameter**3 * np.exp(RECIST_SD_LOG_VOLUME * rng.standard_normal(n))
        rows.append(pd.DataFrame({"subject": f"p{i:05d}", "time": times, "observable": TV, "value": volume}))
    return pd.concat(rows, ignore_index=True)


def _cpu() -> float:
    """CPU seconds of this process and its finished worker processes (user + system)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def fit_law(law: str, data: pd.DataFrame, n_jobs: int | None, n_starts: int) -> dict:
    from chemohost.calibration import IndividualFitter, get_growth_law

    bounds = {**BOUNDS[law], V0: (1e2, 1e8)}
    fixed = FIXED.get(law, {})
    estimate = [n for n in get_growth_law(law).parameter_names if n not in fixed] + [V0]
    fitter = IndividualFitter(law, error_model={"model": "lognormal", "sigma": RECIST_SD_LOG_VOLUME},
                              estimate=estimate, fixed=fixed, bounds=bounds, n_starts=n_starts, n_jobs=n_jobs)
    start, cpu = time.perf_counter(), _cpu()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unidentifiable parameters of 3-point series are reported, not fatal
        fitter.fit(data)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    status = fitter.status_
    fitted = status.isin(["converged", "not converged"])
    finite = fitter.predictions_.groupby("subject")["prediction"].apply(lambda p: bool(np.isfinite(p).all()))
    return {"law": law, "seconds": round(seconds, 1), "CPU seconds": round(cpu, 1), "patients": len(status), "fitted": int(fitted.sum()),
            "converged": int((status == "converged").sum()),
            "fitted with finite predictions": int(finite[fitted].sum()),
            "statuses": status.str.split(":").str[0].value_counts().to_dict()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1500)
    parser.add_argument("--laws", default=",".join(BOUNDS))
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: every usable CPU)")
    parser.add_argument("--starts", type=int, default=2, help="optimiser starts per subject")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    data = synthetic_series(args.patients, args.seed)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{args.patients} series, {len(data)} observations, {cpus} usable CPUs, jobs={args.jobs or 'all'}, "
          f"starts={args.starts}, sigma(ln V)={RECIST_SD_LOG_VOLUME:.3f}; {platform.processor() or platform.machine()}")
    results, total, total_cpu = [], 0.0, 0.0
    for law in args.laws.split(","):
        row = fit_law(law, data, args.jobs, args.starts)
        total += row["seconds"]
        total_cpu += row["CPU seconds"]
        results.append(row)
        print(f"{law:18s} {row['seconds']:7.1f} s wall {row['CPU seconds']:7.1f} s CPU  fitted {row['fitted']}/{row['patients']}  converged "
              f"{row['converged']}  finite predictions {row['fitted with finite predictions']}/{row['fitted']}  "
              f"{row['statuses']}", flush=True)
    print(f"total {total:.1f} s wall, {total_cpu:.1f} s CPU; load average {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"total [s]": round(total, 1), "total CPU [s]": round(total_cpu, 1), "laws": results, "cpus": cpus, "patients": args.patients}, f,
                      indent=2)


if __name__ == "__main__":
    main()
