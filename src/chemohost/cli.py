"""The ``chemohost`` command line.

Every input error (a malformed regimen, an unknown option, a bad study file,
an unwritable folder) prints one line that names the input and what is
accepted, and exits with status 2 — never a traceback.
"""

from __future__ import annotations

import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ._errors import ChemohostError

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
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return False  # the study loader reports the problem
    return isinstance(data, dict) and "estimate" in data


def _load(study: Path | None):
    from .study import load_study, reference_study

    return reference_study() if study is None else load_study(study)


@app.command()
def run(
    study: StudyArg = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default: results/<study file name>, or results/reference).")] = None,
    patients: Annotated[Optional[int], typer.Option(min=1, help="Override the cohort size (patients per arm).")] = None,
    seed: Annotated[Optional[int], typer.Option(min=0, help="Override the cohort seed.")] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Run a study: simulate every arm on one virtual cohort, write report.html and results.nc.

    Example: chemohost run examples/paclitaxel_schedules.yaml --out results/schedules --patients 1000
    """
    from .io import check_writable, save_results
    from .study import load_study, plan_study, run_study

    config = _load(study)
    if patients is not None or seed is not None:
        data = config.model_dump()
        data["cohort"] = {**data["cohort"], **({"size": patients} if patients else {}),
                          **({"seed": seed} if seed is not None else {})}
        config = load_study(data)
    started = time.perf_counter()
    plan = plan_study(config)
    folder = check_writable(out or Path("results") / ("reference" if study is None else study.stem))
    typer.echo(f"{config.name}: {len(plan.regimens)} arms x {config.cohort.size} patients, "
               f"{config.duration:g} days, {len(plan.model.states)} states")
    from .engine import compile_model

    compiled = time.perf_counter()
    compile_model(plan.model)  # compiled once per model, then loaded from the on-disk cache
    if time.perf_counter() - compiled > 1:
        typer.echo(f"compiled the model's kernel in {time.perf_counter() - compiled:.1f} s (cached for later runs)")
    results = run_study(config, plan=plan, progress=progress)
    nc = save_results(results, folder / "results.nc")
    from .report import concentration_profiles, write_report

    report = write_report(results, plan, folder, profiles=concentration_profiles(plan))
    failed = int((results["solver_status"] != 0).sum())
    typer.echo(f"wrote {report} and {nc} in {time.perf_counter() - started:.1f} s"
               + (f" ({failed} solver failures, see report)" if failed else ""))


@app.command()
def check(study: Annotated[Path, typer.Argument(help="Study or fit-study YAML file to validate.")]) -> None:
    """Validate a study (file, regimens, model options, parameters) or a fit study without simulating."""
    from .study import plan_study

    if _is_fit_study(study):
        from .calibration import load_fit_study, plan_fit

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
        "optional 'compare' candidates. See examples/pdx_paclitaxel_fit.yaml."))],
    data: Annotated[Path, typer.Argument(help=(
        "The data, in the study's data.format: 'tidy' CSV (subject, time in days, observable, value, optional "
        "group, censoring, dose columns), 'nonmem' CSV, 'petab' measurement TSV, a 'benzekry2014' growth table, "
        "or the 'pdxe' folder (or its TAone.volume.data.csv)."))],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default: results/<study file name>).")] = None,
    starts: Annotated[Optional[int], typer.Option(min=1, help="Override fit.n_starts (optimiser starts per subject).")] = None,
    seed: Annotated[Optional[int], typer.Option(min=0, help="Override fit.seed.")] = None,
) -> None:
    """Fit a model to data subject by subject (maximum likelihood) and write report.html with CSV tables.

    Estimates with standard errors and 95% intervals, individual fits, diagnostics and an AIC/BIC ranking.

    Example: chemohost fit examples/pdx_paclitaxel_fit.yaml ../shared/data/pdxe_gao2015 --out results/pdx_fit
    """
    from .calibration import load_fit_study, plan_fit, run_fit

    config = load_fit_study(study)
    if starts is not None or seed is not None:
        settings = {**config.fit.model_dump(), **({"n_starts": starts} if starts else {}),
                    **({"seed": seed} if seed is not None else {})}
        config = load_fit_study({**config.model_dump(), "fit": settings})
    started = time.perf_counter()
    plan = plan_fit(config)
    fitted, ranking, report = run_fit(config, data, out or Path("results") / study.stem, plan=plan)
    failed = int((~fitted.converged_).sum())
    typer.echo(f"{config.name}: {len(fitted.params_)} subjects, {int(fitted.n_obs_.sum())} observations, "
               f"total AIC {float(fitted.aic_.sum()):.1f}"
               + (f"; best of {len(ranking)} models: {ranking.index[0]}" if ranking is not None else "")
               + (f"; {failed} subject(s) not converged" if failed else ""))
    typer.echo(f"wrote {report} and its CSV tables in {time.perf_counter() - started:.1f} s")


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
    from .citations import CitationRegistry
    from .engine._simulate import METHOD_ALIASES, METHOD_CITATIONS
    from .study import plan_study

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
    from .study import plan_study

    typer.echo(plan_study(_load(study)).model.equations(format.value))


class Catalogue(str, Enum):
    mechanisms = "mechanisms"
    parameter_sets = "parameter-sets"
    drugs = "drugs"
    citations = "citations"


@app.command(name="list")
def list_(what: Annotated[Catalogue, typer.Argument(help="What to list.")] = Catalogue.mechanisms) -> None:
    """List the model options and their choices, parameter sets, drugs or citations."""
    if what is Catalogue.mechanisms:
        from .core import mechanism_registry

        for family, choices in sorted(mechanism_registry().items()):
            typer.echo(f"{family}:")
            for name, cls in sorted(choices.items()):
                typer.echo(f"  {name:24s} {cls.summary()}")
    elif what is Catalogue.parameter_sets:
        from .parameters import parameter_sets

        for name in sorted(parameter_sets):
            typer.echo(f"{name:28s} {' '.join(parameter_sets[name].description.split())[:100]}")
    elif what is Catalogue.drugs:
        from .drugs import blocker_names, drug_names, get_drug

        for name in drug_names():
            drug = get_drug(name)
            sets = ", ".join(f"{s}: {drug.pk_parameter_set_name(s) or '-'}" for s in ("mouse", "human"))
            typer.echo(f"{name:18s} {drug.drug_class:15s} PK sets ({sets})")
        typer.echo("blockers (host-response module): " + ", ".join(blocker_names()))
    else:
        from .citations import all_citations

        for c in all_citations():
            typer.echo(f"{c.key:24s} {c}")


export_app = typer.Typer(help="Export a study's model to other tools' formats.", no_args_is_help=True)
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
    from .sbml import export_study

    config = _load(study)
    if arm is None:
        if len(config.arms) != 1:
            raise ChemohostError(f"--arm is needed: the study has {len(config.arms)} arms: {', '.join(config.arms)}")
        arm = next(iter(config.arms))
    done = export_study(config, arm, out, patients=patients, table=table)
    typer.echo(f"wrote {done['sbml']} ({done['states']} states, {done['events']} events; libSBML consistency "
               f"and units checks: 0 errors, {len(done['warnings'])} warnings)"
               + (f" and {done['table']} ({patients} patients)" if done["table"] else ""))


def main() -> None:
    """Entry point: run the app, turning input errors into one line and exit code 2.

    Usage errors (unknown command or option) are reported by Typer, also with code 2.
    """
    try:
        app()
    except ChemohostError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
