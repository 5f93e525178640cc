"""The fit report: one self-contained HTML file (tables, individual fits, diagnostics, ranking, references)
plus its tables as CSV."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

from ..citations import get_citation
from ..plotting import figure as _figure
from ..plotting import png as _png
from ..provenance import __version__
from ._individual import IndividualFitter

if TYPE_CHECKING:
    from ._study_fit import FitPlan

__all__ = ["write_fit_report"]

PANELS = 48
"""Most subjects drawn in the grid of individual fits (the rest are in the tables)."""

BASE_CITATIONS = ("Akaike1974", "Schwarz1978", "Virtanen2020")
DATA_CITATIONS = {"pdxe": ("Gao2015",), "benzekry2014": ("Benzekry2014",), "petab": ("Schmiester2021",)}

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ name }} — chemohost fit</title>
<style>
body { margin: 0; color: #1d2433; font: 15px/1.5 -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 6px; border-bottom: 3px solid #1f5fa8; padding-bottom: 8px; }
h2 { font-size: 20px; margin: 32px 0 10px; border-bottom: 1px solid #d9dee7; }
p.note, figcaption { color: #5b6474; font-size: 13px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 18px; font-size: 14px; }
dt { color: #5b6474; } dd { margin: 0; }
table { border-collapse: collapse; margin: 10px 0; font-size: 13px; }
th, td { padding: 4px 9px; border-bottom: 1px solid #d9dee7; text-align: left; }
th { background: #f5f7fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.warning { background: #fff4e0; border-left: 4px solid #e08a00; padding: 8px 14px; font-size: 14px; }
img { max-width: 100%; }
</style></head><body><main>
<h1>{{ name }}</h1>
<p class="note">chemohost {{ version }} fit report, {{ date }}. {{ description }}</p>
<dl>
{% for key, value in facts %}<dt>{{ key }}</dt><dd>{{ value }}</dd>
{% endfor %}</dl>
{% if not_converged %}<p class="warning">{{ not_converged }} subject(s) did not reach a strict optimum (a Newton
step would still lower the NLL by more than 10⁻³, or the Hessian is not positive definite: a flat, non-identifiable
direction). Their standard errors are missing or unreliable; see <code>statistics.csv</code>.</p>{% endif %}
<h2>Estimates across subjects</h2>
<p class="note">Median and quartiles of each subject's estimate; relative standard error from the inverse
Hessian of the subject's negative log-likelihood.</p>
{{ typical }}
{% if ranking %}<h2>Model ranking</h2>
<p class="note">Total AIC = Σ (2·NLL + 2k) and BIC = Σ (2·NLL + k·ln n) over subjects (Akaike 1974, Schwarz 1978);
lowest first. "Best for subjects" counts the subjects whose own AIC is lowest under that model.</p>
{{ ranking }}{% endif %}
<h2>Individual fits</h2>
<figure><img src="data:image/png;base64,{{ fits }}" alt="individual fits">
<figcaption>Observed values (dots; open triangles: censored at the limit shown) and fitted curves, one panel per
subject{% if more %} (first {{ panels }} of {{ n_subjects }}){% endif %}.</figcaption></figure>
<h2>Diagnostics</h2>
<figure><img src="data:image/png;base64,{{ diagnostics }}" alt="diagnostics">
<figcaption>Left: observed against predicted with the identity line. Right: standardized residuals
(on the error model's scale) against time, with ±1.96.</figcaption></figure>
<h2>Estimates per subject</h2>
{{ estimates }}
<h2>Held parameter values</h2>
{{ held }}
{% if equations %}<h2>Model equations</h2>
<pre>{{ equations }}</pre>{% endif %}
<h2>References</h2>
<ul>{% for line in references %}<li>{{ line }}</li>{% endfor %}</ul>
<p class="note">Tables as CSV next to this file: estimates.csv (per subject and parameter), parameters.csv
(wide), statistics.csv, predictions.csv, held.csv{% if ranking %}, ranking.csv{% endif %}.</p>
</main></body></html>
"""


def _table(frame: pd.DataFrame, index: bool = True) -> str:
    """HTML of a table with numbers to 4 significant digits."""
    def fmt(v):
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        if isinstance(v, (int, float, np.integer, np.floating)):
            return "–" if not math.isfinite(float(v)) else f"{float(v):.4g}"
        return str(v)

    return frame.to_html(index=index, formatters={c: fmt for c in frame.columns}, border=0, escape=True)


def _typical(fitter: IndividualFitter) -> pd.DataFrame:
    params, se = fitter.params_, fitter.standard_errors_
    relative = (se / params.abs()).where(params != 0)
    summary = fitter.summary
    at_bound = summary["at bound"].groupby(level="parameter").sum()
    return pd.DataFrame({"median": params.median(), "lower quartile": params.quantile(0.25),
                         "upper quartile": params.quantile(0.75), "median relative SE": relative.median(),
                         "subjects": params.count(), "at a bound": at_bound.reindex(params.columns).fillna(0)
                         .astype(int)})


def _fits_figure(fitter: IndividualFitter) -> tuple[str, int]:
    subjects = list(fitter.params_.index)[:PANELS]
    cols = min(6, len(subjects))
    rows = math.ceil(len(subjects) / cols)
    fig = _figure(2.2 * cols, 1.9 * rows + 0.3)
    curves = fitter.predict()
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, subject in zip(axes.flat, subjects):
        fitter.plot("fits", subjects=[subject], ax=ax, curves=curves)
        ax.set_title(str(subject), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("")
        ax.set_ylabel("")
        if len({g for g in curves.loc[curves["subject"] == subject, "group"]}) > 1:
            ax.legend(fontsize=6, frameon=False)
    for ax in axes.flat[len(subjects):]:
        ax.set_visible(False)
    fig.supxlabel("Time [day]", fontsize=10)
    fig.supylabel(", ".join(dict.fromkeys(fitter.predictions_["observable"])), fontsize=10)
    return _png(fig), len(subjects)


def _diagnostics_figure(fitter: IndividualFitter) -> str:
    fig = _figure(11, 4)
    left, right = fig.subplots(1, 2)
    fitter.plot("observed", ax=left)
    fitter.plot("residuals", ax=right)
    return _png(fig)


def _references(keys) -> list[str]:
    return [str(get_citation(key)) for key in dict.fromkeys(keys)]


def write_fit_report(fitter: IndividualFitter, plan: FitPlan, data: pd.DataFrame, folder: str | Path,
                     ranking: pd.DataFrame | None = None) -> Path:
    """Write ``report.html`` and the CSV tables of a fitted study into ``folder``; returns the report's path."""
    folder = Path(folder)
    config = plan.config
    summary = fitter.summary
    summary.to_csv(folder / "estimates.csv")
    fitter.params_.to_csv(folder / "parameters.csv")
    fitter.statistics.to_csv(folder / "statistics.csv")
    fitter.predictions_.to_csv(folder / "predictions.csv", index=False)
    plan.held.rename_axis("parameter").to_csv(folder / "held.csv")
    if ranking is not None:
        ranking.to_csv(folder / "ranking.csv")
    observations = fitter.predictions_
    censored = int((observations["censoring"] != "").sum())
    problem = fitter.problem_
    law = getattr(problem.predictor, "law", None)
    errors = "; ".join(f"{o.quantity}" + (f" ({o.transform})" if o.transform != "lin" else "")
                       + f": {e.name}, {e.equation}" + (f", held {e.fixed}" if e.fixed else "")
                       for o, e in zip(problem.observables, problem.errors))
    bounds = "; ".join(f"{e.label} in [{e.lower:.3g}, {e.upper:.3g}]" for e in problem.entries
                       if e.subject == 0)
    facts = [
        ("Data", f"{data.attrs.get('source', '')} ({config.data.format})"),
        ("Subjects / curves / observations",
         f"{len(problem.subjects)} / {len(problem.curves)} / {len(observations)}"
         + (f" ({censored} censored)" if censored else "")
         + (f"; {data.attrs['dropped_subjects']} subject(s) dropped (data.min_observations)"
            if data.attrs.get("dropped_subjects") else "")),
        ("Model", fitter.label + (f": {law.equation}" if law is not None and law.equation else "")),
        ("Observables and error models", errors),
        ("Estimated (bounds of the first subject)", bounds),
        ("Per group", ", ".join(fitter.per_group) or "none"),
        ("Held per group", "; ".join(f"{g}: " + ", ".join(f"{n} = {v:g}" for n, v in values.items())
                                     for g, values in (fitter.group_parameters or {}).items()) or "none"),
        ("Optimiser", f"{fitter.n_starts} start(s) per subject (seed {fitter.seed}): least squares, then L-BFGS-B "
                      "on the negative log-likelihood"),
    ]
    fits, panels = _fits_figure(fitter)
    estimates = summary.reset_index()
    citations = (*BASE_CITATIONS, *plan.citations, *DATA_CITATIONS.get(config.data.format, ()),
                 *(("Beal2001",) if censored else ()))
    html = Environment(autoescape=True).from_string(_TEMPLATE).render(
        name=config.name, description=config.description, version=__version__,
        date=datetime.now().strftime("%Y-%m-%d %H:%M"), facts=facts,
        not_converged=int((~fitter.converged_).sum()),
        typical=_markup(_table(_typical(fitter))),
        ranking=_markup(_table(ranking)) if ranking is not None else None,
        fits=fits, more=len(problem.subjects) > panels, panels=panels, n_subjects=len(problem.subjects),
        diagnostics=_diagnostics_figure(fitter),
        estimates=_markup(_table(estimates, index=False)),
        held=_markup(_table(plan.held) if len(plan.held) else "<p class='note'>none</p>"),
        references=_references(citations),
        equations=problem.predictor.model.equations() if law is None else None,
    )
    path = folder / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def _markup(html: str):
    return Markup(html)
