"""One arm of a study written as SBML (the typical patient) and, optionally, its cohort as a parameter table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..sbml._export import (SbmlExportError, _batch, _check_target, _document, _libsbml, _write_files, check_sbml,
                            sbml_ids)
from ._run import plan_study

__all__ = ["export_study"]


def export_study(config, arm: str, out: str | Path, *, patients: int | None = None,
                 table: str | Path | None = None) -> dict[str, object]:
    """Write one arm of a study as SBML (the typical patient's values), and with ``patients`` a parameter table.

    ``config`` is a :class:`~chemohost.study.StudyConfig`. With ``patients`` the
    study's cohort draw (its seed and variability) of that many patients is
    written to ``table`` (default ``<out>.patients.tsv``; a ``.csv`` suffix writes
    commas): a ``patient`` column and one column per parameter, headed by its
    SBML id. Paths are checked and the document built and checked with libSBML
    before anything is written. Returns the paths written and libSBML's warnings.
    """
    out = Path(out)
    if arm not in config.arms:
        raise SbmlExportError(f"unknown arm '{arm}'; the study's arms are: {', '.join(config.arms)}")
    if patients is not None:
        if patients < 1:
            raise SbmlExportError(f"patients must be at least 1, got {patients}")
        config = config.model_copy(update={"cohort": config.cohort.model_copy(update={"size": int(patients)})})
    table = Path(table) if table is not None else (out.with_suffix(".patients.tsv") if patients else None)
    for path in [out, *([table] if table else [])]:
        _check_target(path, "output file")
    plan = plan_study(config)
    if plan.rules[arm]:
        raise SbmlExportError(f"arm '{arm}' has dosing rules decided at visits ({', '.join(map(str, plan.rules[arm]))}),"
                              " which SBML events cannot express; export an arm without rules")
    model = plan.model
    typical = {name: float(plan.table.loc[name, "value"]) for name in model.parameter_names}
    batch = _batch(model, plan.regimens[arm], typical, config.duration, plan.covariates, plan.procedures[arm])
    regimen_text = str(plan.regimens[arm])
    doc = _document(model, batch.parameters[0], batch.events, provenance=plan.table,
                    description=f"Study '{config.name}', arm '{arm}': {regimen_text}"
                                + "".join(f"; {x}" for x in plan.procedures[arm]) + ".",
                    annotations={"study": config.name, "arm": arm, "regimen": regimen_text,
                                 "procedures": json.dumps([str(x) for x in plan.procedures[arm]]),
                                 "covariates": json.dumps(plan.covariates), "until": float(config.duration)})
    errors, warnings = check_sbml(doc)
    if errors:
        raise SbmlExportError(f"the exported document fails libSBML's checks ({len(errors)} errors), first: {errors[0]}")
    texts = {out: _libsbml().writeSBMLToString(doc)}
    if table is not None:
        cohort = _batch(model, plan.regimens[arm], plan.cohort, config.duration, plan.covariates,
                        plan.procedures[arm], n_patients=len(plan.cohort))
        if not np.array_equal(cohort.events.value, np.broadcast_to(cohort.events.value[:1], cohort.events.value.shape)):
            raise SbmlExportError("patients' doses differ (per-patient covariates), which one SBML model cannot hold")
        ids = sbml_ids(model)
        frame = pd.DataFrame(cohort.parameters, columns=[ids[n] for n in model.parameter_names])
        frame.insert(0, "patient", np.arange(len(frame)))
        texts[table] = frame.to_csv(sep="," if table.suffix.lower() == ".csv" else "\t", index=False)
    _write_files(texts)
    return {"sbml": out, "table": table, "warnings": warnings, "states": len(model.states),
            "events": doc.getModel().getNumEvents()}
