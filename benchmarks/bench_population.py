"""Wall time of a Gompertz population fit of the 20 LLC mice (Benzekry 2014): NUTS, Laplace and MAP.

Each method runs twice in this process: the first call includes JAX tracing
and XLA compilation (reported as *first*), the second reuses the compiled
functions (reported as *again*; what a refit of same-shaped data costs). The
settings (chains, warm-up and kept draws for NUTS; Laplace draws) are printed
with the results, and with ``--json`` written to a file.

    pip install -e ".[fit]"
    python benchmarks/bench_population.py
    python benchmarks/bench_population.py --chains 4 --warmup 1000 --samples 1000 --json out.json

The data are read from the shared data folder (see
:func:`chemohost.calibration.shared_data_dir`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time


def _run(method: str, data, settings: dict) -> dict:
    from chemohost.calibration import PopulationFitter

    times = []
    for _ in range(2):
        start = time.perf_counter()
        fit = PopulationFitter("gompertz", method=method, **settings).fit(data)
        times.append(time.perf_counter() - start)
    out = {"method": method, "first [s]": round(times[0], 2), "again [s]": round(times[1], 2),
           "converged": fit.converged_, "settings": settings,
           "typical": fit.population_.round(4).to_dict(), "omega": fit.omega_.round(3).to_dict(),
           "correlation": round(float(fit.correlation_.iloc[0, 1]), 3), "sigma": fit.sigma_.round(3).to_dict()}
    if method == "nuts":
        out.update({"divergences": fit.divergences_, "max r_hat": round(float(fit.rhat_.max()), 3),
                    "min ess": round(float(fit.ess_.min()), 1)})
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="map,laplace,nuts")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=2000, help="Laplace draws")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    import jax

    from chemohost.calibration import load_benzekry2014

    lung = load_benzekry2014("lung")
    settings = {
        "map": {},
        "laplace": {"n_draws": args.draws},
        "nuts": {"num_chains": args.chains, "num_warmup": args.warmup, "num_samples": args.samples},
    }
    print(f"Gompertz population fit, LLC (20 mice, {len(lung)} volumes); {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}, jax {jax.__version__}")
    results = []
    for method in args.methods.split(","):
        r = _run(method, lung, settings[method])
        results.append(r)
        extra = (f", divergences {r['divergences']}, max R-hat {r['max r_hat']}, min ESS {r['min ess']}"
                 if method == "nuts" else "")
        print(f"{method:8s} first {r['first [s]']:7.2f} s   again {r['again [s]']:7.2f} s   settings {r['settings']}"
              f"{extra}")
        print(f"         typical {r['typical']}  omega {r['omega']}  corr {r['correlation']}  sigma {r['sigma']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
