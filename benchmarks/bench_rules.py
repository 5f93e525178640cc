"""Cost of deciding doses per patient at visits: the same batch with and without dosing rules, side by side.

The rule used here never acts (a toxicity rule whose thresholds no count
reaches, monitoring daily), so both runs give the same doses and trajectories
and the difference is the price of integrating visit to visit: one kernel call
per visit plus the decisions between calls. Model: Gompertz growth, paclitaxel
with linear kill and Friberg neutropenia; paclitaxel 10 mg/kg iv every 3 days
from day 5, 180 days, daily output. The runs take turns; the fastest of
``--repeat`` counts.

    python benchmarks/bench_rules.py                  # 10^4 patients
    python benchmarks/bench_rules.py --patients 1000,10000 --repeat 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from chemohost import Model, simulate
from chemohost.rules import ToxicityRule

OPTIONS = {"growth": "gompertz", "toxicity": "friberg",
           "drugs": {"paclitaxel": {"kill": "linear", "myelosuppression": "linear"}}}
REGIMEN = "paclitaxel 10 mg/kg iv q3d from day 5"
TIMES = np.arange(0.0, 181.0)
SILENT = ToxicityRule(proceed_above=1e-9, grade4_below=1e-12, every=1.0)


def _parameters(n: int, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    return {"Body weight [kg]": 0.02,
            "Paclitaxel myelosuppression slope [1/uM]": rng.lognormal(np.log(0.5), 0.5, n),
            "Gompertz initial growth rate [1/day]": rng.lognormal(np.log(0.728), 0.2, n)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", default="10000", help="comma-separated batch sizes")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    model = Model(OPTIONS)
    simulate(model, REGIMEN, _parameters(20), TIMES, n_patients=20, rules=[SILENT])  # compile and warm up
    for n in (int(float(x)) for x in args.patients.split(",")):
        params = _parameters(n)
        best = {"plain": np.inf, "rules": np.inf}
        for _ in range(args.repeat):
            for name, rules in (("plain", None), ("rules", [SILENT])):
                start = time.perf_counter()
                ds = simulate(model, REGIMEN, params, TIMES, n_patients=n, rules=rules)
                best[name] = min(best[name], time.perf_counter() - start)
                if rules:
                    assert np.all(ds["Dose factor [-]"].values == 1.0)
        visits = TIMES.size
        print(f"{n} patients, {visits} visits: without rules {best['plain']:.2f} s ({n / best['plain']:,.0f} "
              f"patients/s), with rules {best['rules']:.2f} s ({n / best['rules']:,.0f} patients/s); "
              f"{best['rules'] / best['plain']:.2f}x")


if __name__ == "__main__":
    main()
