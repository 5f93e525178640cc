"""The ``chemohost`` command line.

Every input error (a malformed regimen, an unknown option, a bad study file,
an unwritable folder) prints one line that names the input and what is
accepted, and exits with status 2 — never a traceback.
"""

from __future__ import annotations

import os
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ._errors import ChemohostError, one_line, quote
from ._yaml_config import read_yaml
from .calibration import load_fit_study, plan_fit, run_fit
from .calibration._import import check_data_file
from .calibration._study_fit import load_fit_data
from .conclusions import study_checks
from .citations import CitationRegistry, all_citations
from .core import mechanism_registry
from .drugs import blocker_names, drug_names, get_drug
from .engine import compile_model
from .engine._simulate import METHOD_ALIASES, METHOD_CITATIONS
from .io import check_writable, output_folder, save_results
from .limits import MAX_PATIENTS, MAX_SEED, max_result_bytes
from .parameters import parameter_sets
from .petab import export_fit, fit_problem
from .petab import lint as lint_petab
from .petab import load as load_petab
from .report import concentration_profiles, write_report
from .report import open_trial_endpoints, write_trial_report
from .report._trial import DEFAULT_SIZES, TrialReportError
from .sbml import load as load_sbml
from .sensitivity import SensitivityError, read_robustness
from .sensitivity import sensitivity as analyse
from .sensitivity._analysis import check_samples, slug
from .sensitivity._robustness import FRAGILE_BELOW, ROBUSTNESS_FILE, default_studies
from .sensitivity._robustness import robustness as measure
from .serve import serve as serve_app
from .study import StudyError, export_study, load_study, plan_study, reference_study, run_study
from .trial import builtin_trials, load_trial, run_trial
from .trial._execute import DEFAULT_CHUNK_SIZE

app = typer.Typer(
    name="chemohost",
    help=(
        "Simulate, calibrate and compare what chemotherapy does to a tumour through the host.\n\n"
        "Start with `chemohost run`: it runs the built-in reference mouse study (RMM-1: Lewis lung "
        "carcinoma; vehicle, paclitaxel MTD, gemcitabine, metronomic cyclophosphamide) and writes "
        "results/reference/report.html and results.nc. See examples/ for study files to copy; "
        "`chemohost check FILE` validates one without running it."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StudyArg = Annotated[
    Optional[Path],
    typer.Argument(help="Study YAML file (model, parameter_sets, cohort, arms, duration). Omit for the reference study."),
]


def _is_fit_study(path: Path) -> bool:
    """Whether a YAML file is a fit study (it names parameters to ``estimate``) rather than a simulation study."""
    data = read_yaml(path, "study", StudyError)
    return isinstance(data, dict) and "estimate" in data


def _check_environment() -> None:
    """Refuse environment variables chemohost or numba would misread, before numba reads them."""
    threads = os.environ.get("NUMBA_NUM_THREADS")
    if threads is not None and not (threads.strip().isdigit() and 1 <= int(threads) <= 100_000):
        raise ChemohostError(f"environment variable NUMBA_NUM_THREADS={quote(threads, 50)} must be a whole number of "
                             "threads ≥ 1; unset it to use every core")
    cache = os.environ.get("CHEMOHOST_CACHE_DIR")
    if cache:
        for folder in (Path(cache), *Path(cache).parents):
            if folder.exists():
                if not folder.is_dir():
                    raise ChemohostError(f"environment variable CHEMOHOST_CACHE_DIR={quote(cache, 100)} lies inside "
                                         f"the file '{folder}'; point it at a folder")
                break
    max_result_bytes()


def _load(study: Path | None):
    return reference_study() if study is None else load_study(study)


TRIAL_KEYS = frozenset({"survival", "panel"})
"""Top-level keys every trial file has and no study file has."""


def _is_trial(study: Path | None) -> bool:
    """Whether ``study`` names a trial: a built-in trial name (``nsclc``) or a YAML file with the trial keys."""
    if study is None:
        return False
    if not study.exists():
        return str(study) in builtin_trials()
    if not study.is_file():
        return False
    data = read_yaml(study, "study", StudyError)
    return isinstance(data, dict) and TRIAL_KEYS <= set(data)


def _run_trial(study: Path, out: Path | None, patients: int | None, seed: int | None, progress: bool,
               chunk_size: int | None, workers: int | None, scheduler: str | None) -> None:
    """``chemohost run TRIAL``: the trial's patients in chunks on Dask, into a resumable store (``--out``)."""
    trial = load_trial(str(study) if not study.exists() else study)
    if seed is not None:
        trial = trial.with_seed(seed)
    patients = patients or getattr(trial, "patients", None)
    if not patients:
        raise ChemohostError(f"--patients is needed: how many virtual patients of trial '{trial.name}' to simulate")
    target = out or Path("results") / study.stem
    where = (f"on the Dask scheduler {scheduler}" if scheduler else f"on {workers} local Dask workers" if workers
             else "in this process")
    typer.echo(f"{trial.name}: {patients:,} patients x {len(trial.arms)} arms, "
               f"chunks of {chunk_size or 'the store’s size (default ' + format(DEFAULT_CHUNK_SIZE) + ')'}, {where}; "
               f"store {target}")
    done = run_trial(trial, patients, target, chunk_size=chunk_size, scheduler=scheduler, workers=workers,
                     progress=progress)
    typer.echo(f"wrote {target}: {done.chunks} chunks ({done.computed} computed, {done.skipped} already done) in "
               f"{done.seconds:.1f} s" + (f", {done.patients_per_second:,.3g} patients/s" if done.computed else ""))


@app.command()
def run(
    study: StudyArg = None,
    out: Annotated[Optional[Path], typer.Option("--out", "--output", "-o", help="Output folder (default: results/<study file name>, or results/reference); for a trial, its resumable store.")] = None,
    patients: Annotated[Optional[int], typer.Option(min=1, max=MAX_PATIENTS, help=(
        "Override the cohort size (patients per arm; for a trial, virtual patients, each in every arm)."))] = None,
    seed: Annotated[Optional[int], typer.Option(min=0, max=MAX_SEED, help="Override the cohort seed.")] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    backend: Annotated[Optional[str], typer.Option(help="Override the study's backend: numba (CPU kernel) or jax "
                                                   "(GPU when JAX sees one).")] = None,
    robustness: Annotated[Optional[Path], typer.Option(help=(
        "A robustness.csv written by `chemohost validate --robustness`, shown beside the validation table."))] = None,
    chunk_size: Annotated[Optional[int], typer.Option("--chunk-size", help=(
        f"Trials: patients per chunk (one Dask task, one Zarr chunk); default {DEFAULT_CHUNK_SIZE}, or the size of "
        "the store being resumed."))] = None,
    workers: Annotated[Optional[int], typer.Option(help="Trials: run the chunks on a local Dask cluster of this "
                                                    "many worker processes.")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="Trials: run the chunks on the running Dask cluster at "
                                                     "this address (tcp://host:8786).")] = None,
) -> None:
    """Run a study: simulate every arm on one virtual cohort, write report.html and results.nc.

    A trial (a built-in name such as nsclc, or a trial file: one with `survival:` and `panel:`) runs its virtual patients in
    chunks on Dask into a resumable Zarr store: rerun the same command to complete an interrupted run.

    Example: chemohost run examples/paclitaxel_schedules.yaml --out results/schedules --patients 1000

    Example: chemohost run nsclc --patients 100000 --workers 2 --output results/nsclc
    """
    if _is_trial(study):
        if backend is not None or robustness is not None:
            raise ChemohostError("--backend and --robustness apply to studies, not to a trial")
        _run_trial(study, out, patients, seed, progress, chunk_size, workers, scheduler)
        return
    if chunk_size is not None or workers is not None or scheduler is not None:
        raise ChemohostError("--chunk-size, --workers and --scheduler apply to trials (a built-in trial name or a "
                             "trial file, with 'survival:' and 'panel:'); this is a study")
    config = _load(study)
    robust = None if robustness is None else read_robustness(robustness)
    if patients is not None or seed is not None or backend is not None:
        data = config.model_dump()
        data["cohort"] = {**data["cohort"], **({"size": patients} if patients else {}),
                          **({"seed": seed} if seed is not None else {})}
        data["backend"] = backend or data["backend"]
        config = load_study(data)
    started = time.perf_counter()
    plan = plan_study(config)
    target = out or Path("results") / ("reference" if study is None else study.stem)
    # everything is written into a temporary sibling that replaces the folder at the end, under a lock
    with output_folder(target) as folder:
        typer.echo(f"{config.name}: {len(plan.regimens)} arms x {config.cohort.size} patients, "
                   f"{config.duration:g} days, {len(plan.model.states)} states")
        compiled = time.perf_counter()
        if config.backend == "numba":
            compile_model(plan.model)  # compiled once per model, then loaded from the on-disk cache
        if time.perf_counter() - compiled > 1:
            typer.echo(f"compiled the model's kernel in {time.perf_counter() - compiled:.1f} s (cached for later runs)")
        results = run_study(config, plan=plan, progress=progress)
        nc = save_results(results, folder / "results.nc")
        report = None
        if "sbml" not in plan.model.options:  # the report reads tumour and drug quantities an imported model lacks
            # the profiles grid is 0.01 day, or the whole study when shorter
            profiles = concentration_profiles(plan, step=min(0.01, config.duration))
            report = write_report(results, plan, folder, profiles=profiles, robustness=robust)
    if report is None:
        typer.echo(f"wrote {target / nc.name} in {time.perf_counter() - started:.1f} s (no report for an imported "
                   "SBML model)")
        return
    failed = int((results["solver_status"] != 0).sum())
    typer.echo(f"wrote {target / report.name} and {target / nc.name} in {time.perf_counter() - started:.1f} s"
               + (f" ({failed} solver failures, see report)" if failed else ""))


@app.command()
def check(study: Annotated[Path, typer.Argument(help="Study or fit-study YAML file to validate.")]) -> None:
    """Validate a study (file, regimens, model options, parameters) or a fit study without simulating."""
    if _is_fit_study(study):
        plan = plan_fit(load_fit_study(study))
        typer.echo(f"{study}: valid fit study — {len(plan.candidates) + 1} candidate model(s); "
                   f"fit it with: chemohost fit {study} DATA")
        return
    plan = plan_study(_load(study))
    placeholders = int(plan.table["tag"].isin(["U", "proposed"]).sum())
    typer.echo(f"{study}: valid — {len(plan.regimens)} arms, {len(plan.model.states)} states, "
               f"{len(plan.table)} parameters ({placeholders} unverified placeholders)")


@app.command()
def fit(
    study: Annotated[Path, typer.Argument(help=(
        "Fit study YAML: a growth 'law' or 'model' options, 'observables' with error models, the parameters to "
        "'estimate' with bounds, 'groups' (regimen and held values per arm), 'data' (how to read DATA) and "
        "optional 'compare' candidates. See examples/pdx_paclitaxel_fit.yaml. Or the word 'petab': then DATA is "
        "a PEtab v1 problem YAML."))],
    data: Annotated[Path, typer.Argument(help=(
        "The data, in the study's data.format: 'tidy' CSV (subject, time in days, observable, value, optional "
        "group, censoring, dose columns), 'nonmem' CSV, 'petab' measurement TSV, a 'benzekry2014' growth table, "
        "or the 'pdxe' folder (or its TAone.volume.data.csv). After 'petab': the PEtab problem YAML."))],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default: results/<study file name>).")] = None,
    starts: Annotated[Optional[int], typer.Option(min=1, max=10_000, help="Override fit.n_starts (optimiser starts per subject).")] = None,
    seed: Annotated[Optional[int], typer.Option(min=0, max=MAX_SEED, help="Override fit.seed.")] = None,
) -> None:
    """Fit a model to data subject by subject (maximum likelihood) and write report.html with CSV tables.

    Estimates with standard errors and 95% intervals, individual fits, diagnostics and an AIC/BIC ranking.

    Example: chemohost fit examples/pdx_paclitaxel_fit.yaml ../shared/data/pdxe_gao2015 --out results/pdx_fit

    A PEtab v1 problem: chemohost fit petab PROBLEM.yaml [--out DIR] [--starts N] [--seed S] fits its estimated
    parameters (multi-start, bounded, on their declared scales) and writes estimates.tsv, starts.tsv,
    objective_trace.tsv, simulations.tsv and fit.png.
    """
    if str(study) == "petab" and not study.exists():
        _fit_petab(data, out, starts, seed)
        return
    config = load_fit_study(study)
    if starts is not None or seed is not None:
        settings = {**config.fit.model_dump(), **({"n_starts": starts} if starts else {}),
                    **({"seed": seed} if seed is not None else {})}
        config = load_fit_study({**config.model_dump(), "fit": settings})
    started = time.perf_counter()
    plan = plan_fit(config)
    check_data_file(data, folder=config.data.format == "pdxe", text=True)
    target = out or Path("results") / study.stem
    with output_folder(target) as folder:  # written as a unit, under a lock (see ``run``)
        fitted, ranking, report = run_fit(config, data, folder, plan=plan)
    report = target / Path(report).name
    failed = int((~fitted.converged_).sum())
    typer.echo(f"{config.name}: {len(fitted.params_)} subjects, {int(fitted.n_obs_.sum())} observations, "
               f"total AIC {float(fitted.aic_.sum()):.1f}"
               + (f"; best of {len(ranking)} models: {ranking.index[0]}" if ranking is not None else "")
               + (f"; {failed} subject(s) not converged" if failed else ""))
    typer.echo(f"wrote {report} and its CSV tables in {time.perf_counter() - started:.1f} s")


def _fit_petab(problem_file: Path, out: Path | None, starts: int | None, seed: int | None) -> None:
    """``chemohost fit petab PROBLEM.yaml``: fit a PEtab problem and write its tables and plot."""
    started = time.perf_counter()
    problem = load_petab(problem_file)
    target = out or Path("results") / problem_file.stem
    fitted = fit_problem(problem, n_starts=starts or 5, seed=seed or 0)
    with output_folder(target) as folder:
        fitted.write(folder)
    typer.echo(f"{problem_file}: {len(problem.estimated)} parameters estimated from {len(problem.measurements)} "
               f"measurements; best objective {fitted.objective:.6g} (of {len(fitted.starts)} starts)")
    typer.echo(f"wrote {target}/estimates.tsv, starts.tsv, objective_trace.tsv, simulations.tsv and fit.png in "
               f"{time.perf_counter() - started:.1f} s")


def _parse_ranges(given: list[str] | None) -> dict[str, tuple[float, float]]:
    """``--range "NAME=LOW:HIGH"`` options as a mapping (numbers in the unit in brackets of NAME)."""
    out = {}
    for text in given or ():
        name, sep, bounds = text.rpartition("=")
        low, colon, high = bounds.partition(":")
        try:
            if not (sep and colon and name.strip()):
                raise ValueError
            out[name.strip()] = (float(low), float(high))
        except ValueError:
            raise SensitivityError(f"--range '{text}': write NAME=LOW:HIGH, e.g. "
                                   "\"Exponential growth rate [1/day]=0.2:0.5\"") from None
    return out


class SensitivityMethod(str, Enum):
    sobol = "sobol"
    morris = "morris"


RangeOption = Annotated[Optional[list[str]], typer.Option("--range", help=(
    "A parameter's range as NAME=LOW:HIGH in the unit in brackets of NAME; repeatable; wins over a declared range."))]
SpreadOption = Annotated[Optional[float], typer.Option(help=(
    "Give every placeholder without a declared range the ASSUMED range [value/F, value*F] (labelled as assumed)."))]


@app.command()
def sensitivity(
    study: StudyArg = None,
    output: Annotated[str, typer.Option("--output", help=(
        "Read-out: final_volume(ARM), final(QUANTITY, ARM), peak_fold(QUANTITY, ARM), burden(ARM), metastases(ARM) "
        "or ratio(READOUT, READOUT). ARM is an arm name or its agents joined by '+' (paclitaxel+DC101)."))] = "",
    parameters: Annotated[Optional[list[str]], typer.Option("--parameters", help=(
        "A parameter to sample (repeatable). Default: the placeholders with a range that the read-out's arms use."))] = None,
    method: Annotated[SensitivityMethod, typer.Option("--method")] = SensitivityMethod.sobol,
    samples: Annotated[int, typer.Option("--samples", help="Base samples N (a power of two for Sobol: N*(k+2) runs "
                                         "per arm) or Morris trajectories (N*(k+1) runs).")] = 1024,
    ranges: RangeOption = None,
    spread: SpreadOption = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the design and the bootstrap.")] = 0,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default: results/sensitivity/<read-out>).")] = None,
) -> None:
    """Global sensitivity of a study read-out: Sobol or Morris indices with confidence intervals (CSV, NetCDF, PNG).

    Example: chemohost sensitivity --output "ratio(final_volume(paclitaxel+DC101), final_volume(paclitaxel))" --spread 2
    """
    check_samples(method.value, samples)
    parsed = _parse_ranges(ranges)
    result = analyse(_load(study), output, parameters, method=method.value, samples=samples, ranges=parsed,
                     spread=spread, seed=seed)
    folder = check_writable(out or Path("results") / "sensitivity" / slug(output))
    paths = result.write(folder, stem=method.value)
    k = len(result.ranges)
    typer.echo(f"{result.study}: {result.readout} — {method.value}, N = {samples}, {k} parameters, "
               f"{result.runs} runs per arm x {len(result.readout.arms)} arm(s) in {result.seconds:.1f} s"
               + (f" ({len(result.dropped)} ranged placeholders unused by these arms left out)" if result.dropped else ""))
    if result.failed:
        typer.echo(f"{result.failed} run(s) gave no finite read-out (solver failure); they enter at the median")
    log = [n for n, r in result.ranges.items() if r.log]
    if log:
        typer.echo(f"sampled log-uniformly (high/low > 10): {', '.join(log)}")
    assumed = sum(r.origin.startswith("assumed") for r in result.ranges.values())
    if assumed:
        typer.echo(f"{assumed} of {k} ranges are ASSUMED (--spread {spread:g}), not declared in the parameter sets")
    frame = result.indices.sort_values(result.indices.columns[2 if method.value == "sobol" else 1], ascending=False)
    typer.echo(frame.head(15).to_string(float_format=lambda v: f"{v:.3f}"))
    if method.value == "sobol":
        bad = result.inconsistent()
        typer.echo("first-order <= total within the confidence intervals for every parameter" if not bad else
                   f"first-order > total beyond the intervals for: {', '.join(bad)} (raise --samples)")
    typer.echo("wrote " + ", ".join(map(str, paths)))


@app.command()
def validate(
    robustness: Annotated[bool, typer.Option("--robustness", help=(
        "Also re-check every conclusion over >= --draws draws of the ranged placeholders and report the fraction "
        "in which it holds (fragile below 80%)."))] = False,
    draws: Annotated[int, typer.Option(min=1, help="Draws per study (at least; a Saltelli design).")] = 1000,
    ranges: RangeOption = None,
    spread: SpreadOption = None,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for robustness.csv.")] = Path("results") / "robustness",
) -> None:
    """Check the published host-response conclusions (VALIDATION V15–V20 and quantitative targets) on the built-in studies.

    With --robustness the table is also written to OUT/robustness.csv; `chemohost run --robustness CSV` shows it in
    the report.
    """
    started = time.perf_counter()
    if not robustness:
        for config in default_studies():
            for check in study_checks(run_study(config)):
                typer.echo(f"{check.id:4s} {'holds ' if check.passed else 'FAILS '} {check.fact}: {check.values}")
        return
    folder = check_writable(out)
    table = measure(draws=draws, ranges=_parse_ranges(ranges), spread=spread, seed=seed)
    table.to_csv(folder / ROBUSTNESS_FILE)
    for cid, r in table.iterrows():
        label = "FRAGILE" if r["fragile"] else "robust " if r["draws"] else "fixed  "
        share = f"{100 * r['holds']:5.1f}%" if r["draws"] else "    – "
        typer.echo(f"{cid:4s} {label} holds in {share} of {r['draws']:5d} draws ({r['parameters']} parameters; at "
                   f"study values: {'holds' if r['holds at study values'] else 'fails'}) — {r['fact']}")
        typer.echo(f"       matters most: {r['matters most']}")
    typer.echo(f"fragile = holds in fewer than {FRAGILE_BELOW:.0%} of draws; wrote {folder / ROBUSTNESS_FILE} in "
               f"{time.perf_counter() - started:.1f} s")


class CiteFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    bibtex = "bibtex"


@app.command()
def cite(
    study: StudyArg = None,
    format: Annotated[CiteFormat, typer.Option("--format", "-f", help="Output format.")] = CiteFormat.text,
) -> None:
    """Print exactly the references a study uses (its mechanisms, parameter values and solver)."""
    config = _load(study)
    plan = plan_study(config)
    method = METHOD_ALIASES.get(config.solver.method, config.solver.method)
    registry = CitationRegistry()
    registry.register(*plan.citations, *METHOD_CITATIONS.get(method, ()))
    typer.echo(registry.format(format.value))


class EquationFormat(str, Enum):
    markdown = "markdown"
    latex = "latex"


@app.command()
def equations(
    study: StudyArg = None,
    format: Annotated[EquationFormat, typer.Option("--format", "-f")] = EquationFormat.markdown,
) -> None:
    """Print the equations of a study's model, derived from the mechanisms' declarations."""
    typer.echo(plan_study(_load(study)).model.equations(format.value))


class Catalogue(str, Enum):
    mechanisms = "mechanisms"
    parameter_sets = "parameter-sets"
    drugs = "drugs"
    citations = "citations"


@app.command()
def serve(
    study: StudyArg = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 5006,
    host: Annotated[str, typer.Option(help="Address to bind; the default is reachable from this machine only. "
                                      "Give 0.0.0.0 only on a trusted network.")] = "127.0.0.1",
    patients: Annotated[int, typer.Option(help="Mice per arm (1 to 1000).")] = 100,
    duration: Annotated[Optional[float], typer.Option(help="Days simulated (1 to 180; default the study's).")] = None,
) -> None:
    """Explore a study in the browser: compose up to four arms (drug, dose, route, schedule, blockers) and see
    tumour volume, drug levels, the host response, neutrophils, vessels and metastases on one time axis.

    Example: chemohost serve --port 5006   (then open http://127.0.0.1:5006)
    """
    serve_app(None if study is None else _load(study), port=port, host=host, patients=patients, duration=duration)


@app.command(name="list")
def list_(what: Annotated[Catalogue, typer.Argument(help="What to list.")] = Catalogue.mechanisms) -> None:
    """List the model options and their choices, parameter sets, drugs or citations."""
    if what is Catalogue.mechanisms:
        for family, choices in sorted(mechanism_registry().items()):
            typer.echo(f"{family}:")
            for name, cls in sorted(choices.items()):
                typer.echo(f"  {name:24s} {cls.summary()}")
    elif what is Catalogue.parameter_sets:
        for name in sorted(parameter_sets):
            typer.echo(f"{name:28s} {' '.join(parameter_sets[name].description.split())[:100]}")
    elif what is Catalogue.drugs:
        for name in drug_names():
            drug = get_drug(name)
            sets = ", ".join(f"{s}: {drug.pk_parameter_set_name(s) or '-'}" for s in ("mouse", "human"))
            typer.echo(f"{name:18s} {drug.drug_class:15s} PK sets ({sets})")
        typer.echo("blockers (host-response module): " + ", ".join(blocker_names()))
    else:
        for c in all_citations():
            typer.echo(f"{c.key:24s} {c}")


sbml_app = typer.Typer(help="SBML model exchange: check that a document imports.", no_args_is_help=True)
app.add_typer(sbml_app, name="sbml")


@sbml_app.command(name="check")
def sbml_check(file: Annotated[Path, typer.Argument(help="SBML file (Level 2 or 3) to import.")]) -> None:
    """Import an SBML document and summarise the model, or name what is not supported (exit 2)."""
    model = load_sbml(file)
    typer.echo(f"{file}: imports — {len(model.states)} states, {len(model.parameters)} parameters, "
               f"{len(model.output_names)} outputs, {len(model.state_events)} events (time unit: {model.time_unit})")


export_app = typer.Typer(help="Export a study's model or a fit study to other tools' formats (SBML, PEtab).",
                         no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("sbml")
def export_sbml(
    study: StudyArg = None,
    arm: Annotated[Optional[str], typer.Option("--arm", help="Arm whose regimen and procedures become events (may be omitted when the study has one arm).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="SBML file to write.")] = Path("model.xml"),
    patients: Annotated[Optional[int], typer.Option(min=1, help="Also write this many patients of the study's cohort as a parameter table (one row per patient).")] = None,
    table: Annotated[Optional[Path], typer.Option(help="Parameter table path (default: <out>.patients.tsv; .csv writes commas).")] = None,
) -> None:
    """Write one arm of a study as an SBML Level 3 Version 2 model (typical patient; regimen as events).

    Example: chemohost export sbml examples/paclitaxel_schedules.yaml --arm vehicle --out vehicle.xml --patients 100
    """
    config = _load(study)
    if arm is None:
        if len(config.arms) != 1:
            raise ChemohostError(f"--arm is needed: the study has {len(config.arms)} arms: {', '.join(config.arms)}")
        arm = next(iter(config.arms))
    done = export_study(config, arm, out, patients=patients, table=table)
    typer.echo(f"wrote {done['sbml']} ({done['states']} states, {done['events']} events; libSBML consistency "
               f"and units checks: 0 errors, {len(done['warnings'])} warnings)"
               + (f" and {done['table']} ({patients} patients)" if done["table"] else ""))


@export_app.command("petab")
def export_petab(
    study: Annotated[Path, typer.Argument(help="Fit study YAML (see chemohost fit --help).")],
    data: Annotated[Path, typer.Argument(help="Its data file, in the study's data.format.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the PEtab problem into.")] = Path("petab"),
    estimates: Annotated[bool, typer.Option("--estimates", help="Fit first and write the estimates as the nominal values (default: the fit's start values).")] = False,
) -> None:
    """Write a fit study and its data as a PEtab v1 problem (SBML model, conditions, measurements, observables
    with the error model as noise formula, parameters with scales and bounds) and check it with petab's linter.

    Example: chemohost export petab examples/benzekry_llc_fit.yaml ../shared/data/benzekry2014_growth/lung_vol_data.txt --out llc_petab
    """
    config = load_fit_study(study)
    check_data_file(data, folder=config.data.format == "pdxe", text=True)
    params = None
    if estimates:
        params = plan_fit(config).fitter.clone().fit(load_fit_data(config, data)).params_
    paths = export_fit(config, data, out, estimates=params)
    problems = lint_petab(paths["problem"])
    if problems:
        raise ChemohostError(f"the written PEtab problem fails petab's linter: {problems[0]}")
    typer.echo(f"wrote {paths['problem']} (model.xml, conditions, measurements, observables, parameters); "
               "petab lint: passed")

def _arm_pairs(given: list[str]) -> list[tuple[str, str]]:
    """``WITH=WITHOUT`` options as (with, without) arm pairs."""
    pairs = []
    for text in given:
        with_, sep, without = text.partition("=")
        if not sep or not with_.strip() or not without.strip():
            raise TrialReportError(f"--blocker-pair {quote(text, 80)} must be 'ARM WITH BLOCKER=ARM WITHOUT', "
                                   "e.g. 'docetaxel + blocker=docetaxel'")
        pairs.append((with_.strip(), without.strip()))
    return pairs


def _sizes(text: str) -> list[int]:
    """``--sizes 100,200,400`` as whole numbers of patients."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 4:
        raise TrialReportError(f"--sizes {quote(text, 80)} must be comma-separated whole numbers ≥ 4, e.g. 100,200,400")
    return sizes


@app.command()
def report(
    trial_output: Annotated[Path, typer.Argument(help="Folder a trial run wrote (holding data.zarr), or a Zarr store.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for trial_report.html and its CSV tables (default: TRIAL_OUTPUT/report).")] = None,
    reference: Annotated[Optional[str], typer.Option(help="Reference arm of the hazard ratios (default: the first arm).")] = None,
    blocker_pair: Annotated[Optional[list[str]], typer.Option("--blocker-pair", help="'WITH=WITHOUT' arms for the host-response score (repeatable; default: arms named 'X + blocker' and 'X').")] = None,
    sizes: Annotated[str, typer.Option(help="Trial sizes of the power curve [patients], comma-separated.")] = ",".join(map(str, DEFAULT_SIZES)),
    resamples: Annotated[int, typer.Option(min=1, max=100_000, help="Simulated trials per size of the power curve.")] = 200,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the power-curve draws and of the score's split.")] = 0,
    margin: Annotated[float, typer.Option(help="Overall-survival gain [day] above which a patient benefits from the blocker.")] = 30.0,
) -> None:
    """Write a virtual trial's read-outs: KM curves by arm, hazard ratios, response and toxicity rates,
    power curves and the host-response score (ROC, AUC, calibration).

    Example: chemohost report results/nsclc --resamples 200 --sizes 100,200,400,800
    """
    started = time.perf_counter()
    ds = open_trial_endpoints(trial_output)
    target = out if out is not None else trial_output / "report"
    pairs = _arm_pairs(blocker_pair) if blocker_pair else None
    html = write_trial_report(ds, target, reference_arm=reference, pairs=pairs, sizes=_sizes(sizes),
                              resamples=resamples, seed=seed, margin=margin)
    typer.echo(f"wrote {html} ({ds.sizes['patient']:,} patients, {ds.sizes['arm']} arms) "
               f"in {time.perf_counter() - started:.1f} s")


def main() -> None:
    """Entry point: run the app, turning input errors into one line and exit code 2.

    Usage errors (unknown command or option, an option value out of range) are
    one line too, with the exit code 2 of Typer; the help without arguments stays as it is.
    """
    try:
        _check_environment()
        code = app(standalone_mode=False)
    except ChemohostError as exc:
        typer.echo(f"error: {one_line(str(exc))}", err=True)
        sys.exit(2)
    except typer.TyperException as exc:  # Typer's usage errors (a vendored click.ClickException)
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()
        else:
            typer.echo(f"error: {one_line(exc.format_message())} (see chemohost --help)", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
