"""Cost of metastasis cohorts: the same model with and without ``metastasis: cohorts``, timed side by side.

For each case the model is built twice — as given, and with
``metastasis: {name: cohorts, cohorts: K, horizon: <duration>}`` added — both
kernels are compiled and warmed up on a small batch, then each simulates the
same ``--patients`` patients ``--repeat`` times, the models taking turns (the
fastest call counts, in wall and in CPU time of all threads). The ratio of the
two times is the price of the metastases (the issue asks for at most 5x at 10^4
patients).

Cases:

- ``paclitaxel``: Gompertz growth, Simeoni damage chain, paclitaxel with linear
  kill (5 states), log-normal Gompertz α0 and β as in ``bench_engine.py``;
  ``paclitaxel 25 mg/kg iv bolus q7d x4 from day 7``, 84 days, daily output.
- ``reference``: the reference study RMM-1's model (Hahnfeldt vasculature, host
  response, neutrophils) with its cohort, the paclitaxel MTD arm, 31 days, daily
  output; its metastases are removed for the baseline.

    python benchmarks/bench_metastasis.py                      # both cases, 10^4 patients, 24 cohorts
    python benchmarks/bench_metastasis.py --case paclitaxel --cohorts 12,24,48
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from bench_engine import paclitaxel_case

SAVE = ["Tumour volume [mm3]"]


def _metastatic(options: dict, cohorts: int, horizon: float) -> dict:
    growth = options.get("growth", "gompertz")
    law = "gompertz" if (growth if isinstance(growth, str) else growth["name"]) in ("hahnfeldt", "none") else "primary"
    return {**options, "metastasis": {"name": "cohorts", "cohorts": cohorts, "horizon": horizon, "growth": law}}


def _case(name: str, n: int, seed: int):
    """(options without metastasis, parameters, covariates, regimen, times) of a case."""
    if name == "paclitaxel":
        model, parameters = paclitaxel_case(n, seed)
        return (dict(model.options), parameters, {"Body weight [kg]": 0.02},
                "paclitaxel 25 mg/kg iv bolus q7d x4 from day 7", np.arange(0.0, 85.0))
    from chemohost.study import plan_study, reference_study

    config = reference_study()
    config = config.model_copy(update={"cohort": config.cohort.model_copy(update={"size": n, "seed": seed})})
    plan = plan_study(config)
    options = {k: v for k, v in plan.model.options.items() if k != "metastasis"}
    parameters = {c: plan.cohort[c].to_numpy(float) for c in plan.cohort.columns}
    return options, parameters, plan.covariates, plan.regimens["paclitaxel MTD"], np.arange(0.0, 32.0)


class _Timer:
    """One model's warm-up and its timed calls; the fastest call (wall and CPU time of all threads) counts."""

    def __init__(self, model, regimen, parameters, covariates, times, threads: int, n: int):
        self.model, self.regimen, self.covariates, self.times, self.threads, self.n = (
            model, regimen, covariates, times, threads, n)
        self.parameters = {k: v for k, v in parameters.items() if k in model.parameter_names}
        start = time.perf_counter()
        self._run(min(n, 16))
        self.warm = time.perf_counter() - start
        self.wall, self.cpu, self.steps = np.inf, np.inf, 0.0

    def _run(self, m: int):
        import chemohost as ch

        sub = {k: (v[:m] if isinstance(v, np.ndarray) else v) for k, v in self.parameters.items()}
        return ch.simulate(self.model, self.regimen, sub, self.times, covariates=self.covariates, n_patients=m,
                           save=SAVE, threads=self.threads)

    def once(self) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        ds = self._run(self.n)
        self.wall = min(self.wall, time.perf_counter() - wall)
        self.cpu = min(self.cpu, time.process_time() - cpu)
        self.steps = float(ds["solver_steps"].mean())

    def row(self) -> dict:
        return {"states": len(self.model.states), "compile + warm-up [s]": self.warm, "wall [s]": self.wall,
                "cpu [s]": self.cpu, "patients/s": self.n / self.wall, "mean steps": self.steps}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=("paclitaxel", "reference", "both"), default="both")
    parser.add_argument("--patients", type=lambda s: int(float(s)), default=10_000)
    parser.add_argument("--cohorts", default="24", help="comma-separated numbers of cohorts")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args(argv)
    import chemohost as ch

    rows = []
    for name in (("paclitaxel", "reference") if args.case == "both" else (args.case,)):
        options, parameters, covariates, regimen, times = _case(name, args.patients, args.seed)
        cohorts = [int(x) for x in args.cohorts.split(",")]
        models = {0: ch.Model(options)} | {k: ch.Model(_metastatic(options, k, float(times[-1]))) for k in cohorts}
        timers = {k: _Timer(m, regimen, parameters, covariates, times, args.threads, args.patients)
                  for k, m in models.items()}
        for _ in range(args.repeat):  # interleaved, so a busy spell of the machine hits every model alike
            for timer in timers.values():
                timer.once()
        base = timers[0].row()
        print(f"{name}: without metastasis: {base['states']} states, {base['patients/s']:,.0f} patients/s "
              f"({base['wall [s]']:.2f} s wall, {base['cpu [s]']:.2f} s CPU), {base['mean steps']:.0f} steps/patient")
        for k in cohorts:
            met = timers[k].row()
            ratio, cpu_ratio = met["wall [s]"] / base["wall [s]"], met["cpu [s]"] / base["cpu [s]"]
            print(f"{name}: {k} cohorts: {met['states']} states, {met['patients/s']:,.0f} patients/s "
                  f"({met['wall [s]']:.2f} s wall, {met['cpu [s]']:.2f} s CPU), {met['mean steps']:.0f} steps/patient; "
                  f"{ratio:.2f}x the wall time ({cpu_ratio:.2f}x the CPU time) without metastasis")
            rows.append({"case": name, "patients": args.patients, "cohorts": k, "threads": args.threads,
                         "without": base, "with": met, "ratio": ratio, "cpu ratio": cpu_ratio})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.platform(), "processor": platform.processor(), "rows": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
