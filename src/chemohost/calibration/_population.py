r"""Population fits of tumour-growth models: hierarchical Bayesian (NUTS), MAP and Laplace.

:class:`PopulationFitter` fits a nonlinear mixed-effects model to many subjects
at once; the model, its priors and the numerical methods are described in
:mod:`chemohost.calibration._jax_population`. Data come in the tidy
interchange format (``subject``, ``time`` [day], ``observable``, ``value``,
optional ``group`` and ``censoring``); the table :func:`load_benzekry2014`
returns is accepted as well.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata
import pandas as pd
import xarray as xr

from .._errors import unknown
from ..cohort import sample_cohort
from ..parameters import Correlation, LogNormalVariability, ParameterValue
from ..quantities import TUMOUR_VOLUME
from ._data import SUBJECT, TIME, VOLUME
from ._error_models import ERROR_MODELS
from ._errors import CalibrationError
from ._import import observations
from ._estimator import Estimator
from ._jax_population import (
    PRIOR_SD_TYPICAL,
    Transform,
    error_kind,
    fit_map,
    fit_pooled,
    laplace_covariance,
    laplace_draws,
    problem_for,
    run_nuts,
)
from ._jax_structures import structure_for

__all__ = ["PopulationFitter", "METHODS", "bulk_ess", "rank_rhat", "tidy_observations"]

METHODS = ("nuts", "map", "laplace")
RHAT_LIMIT = 1.01
"""Rank-normalised R-hat below which NUTS chains count as converged (Vehtari et al. 2021)."""
COLUMNS = ("subject", "time", "observable", "value")
_CENSORING = {"": 0, "left": 1, "right": 2}


def tidy_observations(data: pd.DataFrame) -> pd.DataFrame:
    """The observation rows of ``data`` in the interchange format: ``subject`` (str), ``time`` [day], ….

    Columns ``observable`` and ``value`` (and optional ``group``, ``censoring``)
    are kept; dose rows (a non-blank ``agent``) are dropped. A table with the
    columns of :func:`~chemohost.calibration.load_benzekry2014`
    (``"subject"``, ``"time [day]"``, ``"volume [mm3]"``) becomes observable
    ``"Tumour volume [mm3]"``; other columns are kept.
    """
    if not isinstance(data, pd.DataFrame):
        raise CalibrationError(f"data must be a pandas DataFrame with columns {', '.join(COLUMNS)}, "
                               f"not {type(data).__name__}")
    if set(COLUMNS) <= set(data.columns):
        frame = observations(data).copy()
    elif {SUBJECT, TIME, VOLUME} <= set(data.columns):
        frame = data.rename(columns={TIME: "time", VOLUME: "value"}).assign(observable=TUMOUR_VOLUME)
    else:
        raise CalibrationError(f"data need columns {', '.join(COLUMNS)} (or '{SUBJECT}', '{TIME}', '{VOLUME}'); "
                               f"columns present: {', '.join(map(str, data.columns))}")
    frame["subject"] = frame["subject"].astype(str)
    for col in ("time", "value"):
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = frame.index[bad.argmax()]
            raise CalibrationError(f"data row {row!r}: '{col}' = {frame[col].loc[row]!r} is not a finite number")
        frame[col] = values
    if "censoring" in frame:
        frame["censoring"] = frame["censoring"].fillna("").astype(str).str.lower()
        bad = ~frame["censoring"].isin(list(_CENSORING))
        if bad.any():
            raise CalibrationError(f"data row {frame.index[bad.argmax()]!r}: censoring "
                                   f"{frame['censoring'][bad].iloc[0]!r} is not one of '', 'left', 'right'")
    return frame


class PopulationFitter(Estimator):
    r"""Nonlinear mixed-effects fit: θ_ik = T_k⁻¹(μ_k + x_iᵀβ_k + b_ik), b_i = ω ⊙ L·η_i, η_i ~ N(0, I).

    Each subject i has its own parameters θ_i around the typical values
    T⁻¹(μ) (log-normal for parameters bounded below by 0, logit-normal for
    parameters with a finite upper bound such as the power-law exponent);
    ω are the inter-individual SDs on that scale and L the Cholesky factor of
    their correlation; x_i are subject covariates (a categorical column shifts
    the typical value per level; a numeric one enters as a power,
    θ ∝ (x/x_ref)^κ). Observations follow y_ij ~ error model(f(t_ij; θ_i)),
    f a growth law's closed form or a chemohost model integrated by diffrax.
    NUTS samples the random effects centred (b_i ~ N(0, Ω) themselves; the
    MAP and Laplace paths integrate the non-centred η_i out). Priors and numerics:
    :mod:`chemohost.calibration._jax_population`.

    Parameters
    ----------
    law_or_model:
        A growth-law name (``"exponential"``, ``"logistic"``, ``"gompertz"``,
        ``"power_law"``, ``"von_bertalanffy"``: closed forms from V(t0) = v0;
        ``"hahnfeldt"``: integrated), a law object, or a :class:`chemohost.Model`
        (with ``regimen`` and ``estimate``).
    estimate:
        Canonical names of the parameters to estimate (default: all the law's
        fitted parameters; required for a Model).
    random_effects:
        Which of ``estimate`` vary between subjects (default: all).
    error_model:
        ``"lognormal"`` (default: ln y ~ N(ln f, σ), the log-scale fits of
        MODEL_SPEC §1 and VALIDATION V8), ``"proportional"``, ``"additive"``,
        ``"combined"`` or ``"power"``: the models of
        :mod:`chemohost.calibration._error_models`, whose log-likelihood is
        evaluated here in JAX (the power model's σ is sampled relative to the
        median observation y_ref, b = σ·y_ref^(α−1), and reported as σ).
    covariates:
        ``{parameter: column or [columns]}``: subject-level columns of the data
        (constant within a subject) acting on that parameter's typical value.
    method:
        ``"nuts"`` (default; NumPyro NUTS, needs the ``fit`` extra), ``"laplace"``
        (MAP plus a Gaussian in the unconstrained coordinates; JAX only) or
        ``"map"`` (point estimates only). All find the MAP first, from a pooled
        fit (every subject at the typical values); NUTS chains start around it.
    correlated:
        Estimate the correlation of the random effects (LKJ(2) prior; default True).
    priors:
        ``{parameter: (centre, sd)}``: the typical value's prior median in
        natural units and SD on the log (logit) scale; default: the declared
        default with SD 2.
    parameters:
        Held parameter values (a law's other parameters; a Model's parameters
        and covariates such as ``"Body weight [kg]"``).
    regimen, observable, v0, t0:
        The Model's regimen and observed state (default ``"Tumour volume [mm3]"``);
        a law's initial volume [mm3] at t0 [day] (default 1 mm³ at day 0: 10⁶
        injected cells, MODEL_SPEC §1.2).
    interval:
        Central probability of the reported intervals (default 0.9).
    num_chains, num_warmup, num_samples, target_accept_prob, chain_method:
        NUTS settings. Defaults 4 chains of 1,000 warm-up and 1,000 kept draws
        (Stan's defaults; four chains for R-hat, Vehtari et al. 2021), target
        acceptance 0.9 (above NumPyro's 0.8, against divergences in
        hierarchical models: Betancourt & Girolami 2015), chains run one after
        the other.
    n_draws:
        Laplace: draws from the Gaussian for intervals and individual posteriors.
    init_jitter:
        NUTS: SD of the noise added to the start of each chain (unconstrained scale; default
        0.5, over-dispersed starts for R-hat).
    seed:
        Seed of every random draw (stored in ``posterior_.attrs``).
    tol:
        Gradient and step tolerance of the MAP search (SciPy trust-constr).
    solver, rtol, atol, max_steps:
        diffrax settings for a Model. Each likelihood evaluation then integrates
        the model per subject (``diffrax.DirectAdjoint``, whose cost grows with
        ``max_steps``); the first fit compiles for minutes (about 80 s for a
        one-state model on two cores) and NUTS is slow: prefer ``"laplace"``.

    Attributes (after :meth:`fit`)
    ------------------------------
    population_ : pandas.Series
        Typical values (reference covariate levels), canonical names.
    omega_ : pandas.Series
        SD of the random effect of each varying parameter (log or logit scale).
    correlation_ : pandas.DataFrame
        Correlation of the random effects (NUTS: posterior mean).
    covariate_effects_ : pandas.Series
        β on the transformed scale (log-ratio of a level to the reference; power exponent).
    sigma_ : pandas.Series
        Residual-error parameters.
    individual_ : pandas.DataFrame
        Per-subject parameters (NUTS: posterior medians; MAP/Laplace: conditional modes;
        the Laplace draws of individuals are conditional on φ̂).
    summary : pandas.DataFrame
        Estimates, SD and interval bounds (and R-hat, ESS for NUTS) per quantity.
    covariance_ : pandas.DataFrame
        Laplace: covariance of the unconstrained φ (μ, ln ω, atanh of the partial
        correlations, β, log error SDs) at the MAP.
    posterior_ : xarray.Dataset or None
        Draws with dims ``chain``, ``draw`` (NUTS, Laplace); None for MAP.
    inference_data_ : xarray.DataTree or None
        ArviZ groups ``posterior``, ``sample_stats`` (NUTS: ``diverging``), ``observed_data``.
    divergences_, rhat_, ess_ :
        NUTS diagnostics: number of divergent transitions; rank-normalised
        split R-hat and bulk effective sample size per summary row (Vehtari
        et al. 2021, see :func:`rank_rhat`, :func:`bulk_ess`); None otherwise.
    log_marginal_likelihood_ :
        The Laplace approximation of log p(y | φ̂) + log p(φ̂) at the MAP (up to a constant).
    converged_ : bool
        The MAP optimiser and every subject's inner mode converged, and (NUTS) every
        summary R-hat is below 1.01.
    n_dropped_ : int
        Non-positive, uncensored values dropped (log-normal error model).

    Examples
    --------
    >>> from chemohost.calibration import PopulationFitter, load_benzekry2014
    >>> lung = load_benzekry2014("lung")                                       # doctest: +SKIP
    >>> fit = PopulationFitter("gompertz", method="laplace").fit(lung)         # doctest: +SKIP
    >>> fit.population_.round(3).to_dict()                                     # doctest: +SKIP
    >>> cohort = fit.to_cohort(1000, seed=1)                                   # doctest: +SKIP
    """

    def __init__(
        self,
        law_or_model="gompertz",
        estimate: Sequence[str] | None = None,
        *,
        random_effects: Sequence[str] | None = None,
        error_model: str = "lognormal",
        covariates: Mapping[str, str | Sequence[str]] | None = None,
        method: str = "nuts",
        correlated: bool = True,
        priors: Mapping[str, tuple[float, float]] | None = None,
        parameters: Mapping[str, float] | None = None,
        regimen=None,
        observable: str | None = None,
        v0: float = 1.0,
        t0: float | None = None,
        interval: float = 0.9,
        num_chains: int = 4,
        num_warmup: int = 1000,
        num_samples: int = 1000,
        target_accept_prob: float = 0.9,
        chain_method: str = "sequential",
        n_draws: int = 2000,
        init_jitter: float = 0.5,
        seed: int = 0,
        tol: float = 1e-10,
        solver: str = "Tsit5",
        rtol: float = 1e-8,
        atol: float = 1e-10,
        max_steps: int = 16_384,
    ) -> None:
        self.law_or_model = law_or_model
        self.estimate = estimate
        self.random_effects = random_effects
        self.error_model = error_model
        self.covariates = covariates
        self.method = method
        self.correlated = correlated
        self.priors = priors
        self.parameters = parameters
        self.regimen = regimen
        self.observable = observable
        self.v0 = v0
        self.t0 = t0
        self.interval = interval
        self.num_chains = num_chains
        self.num_warmup = num_warmup
        self.num_samples = num_samples
        self.target_accept_prob = target_accept_prob
        self.chain_method = chain_method
        self.n_draws = n_draws
        self.init_jitter = init_jitter
        self.seed = seed
        self.tol = tol
        self.solver = solver
        self.rtol = rtol
        self.atol = atol
        self.max_steps = max_steps

    # ------------------------------------------------------------------ fitting
    def fit(self, data: pd.DataFrame) -> PopulationFitter:
        """Fit the population model to ``data`` (interchange format); returns ``self``."""
        if self.method not in METHODS:
            raise CalibrationError(unknown("method", str(self.method), METHODS))
        if self.error_model not in ERROR_MODELS:
            raise CalibrationError(unknown("error model", str(self.error_model), ERROR_MODELS))
        if not 0 < self.interval < 1:
            raise CalibrationError(f"interval = {self.interval} must lie strictly between 0 and 1")
        structure = structure_for(self.law_or_model, self.estimate, self.parameters, v0=self.v0, t0=self.t0,
                                  regimen=self.regimen, observable=self.observable, solver=self.solver,
                                  rtol=self.rtol, atol=self.atol, max_steps=self.max_steps)
        names = list(structure.names)
        random = list(names if self.random_effects is None else self.random_effects)
        for name in random:
            if name not in names:
                raise CalibrationError("random_effects: " + unknown("estimated parameter", name, names))
        if not random:
            raise CalibrationError("random_effects is empty; a population fit needs at least one varying parameter")
        transforms = tuple(Transform.for_bounds(n, lo, hi)
                           for n, lo, hi in zip(names, structure.lower, structure.upper))

        frame = self._observations(data, structure)
        subjects = list(pd.unique(frame["subject"]))
        if len(subjects) < 2:
            raise CalibrationError(f"a population fit needs at least 2 subjects; the data hold {len(subjects)}")
        per_subject = frame.groupby("subject", sort=False)
        design = _CovariateDesign(frame, subjects, self.covariates or {}, names)
        data_arrays = _padded(per_subject, subjects, design.x)
        y = frame["value"].to_numpy()
        data_arrays["y_ref"] = np.full(len(subjects), float(np.median(np.abs(y))) or 1.0)

        priors = dict(self.priors or {})
        unknown_priors = set(priors) - set(names)
        if unknown_priors:
            raise CalibrationError("priors: " + unknown("estimated parameter", sorted(unknown_priors)[0], names))
        centres, sds = [], []
        for k, name in enumerate(names):
            centre, sd = priors.get(name, (structure.defaults[k], PRIOR_SD_TYPICAL))
            tr = transforms[k]
            if not (np.isfinite(centre) and centre > tr.lo and (tr.log or centre < tr.hi)):
                raise CalibrationError(f"'{name}' has no usable prior centre ({centre}); give priors={{'{name}': "
                                       "(typical value, SD on the log scale)}")
            centres.append(float(transforms[k].forward(centre)))
            sds.append(float(sd))
        consts = {"mu_mean": np.array(centres), "mu_sd": np.array(sds),
                  "additive_scale": np.array(float(np.std(y)) or 1.0)}

        problem = problem_for(structure, transforms, [names.index(n) for n in random], self.correlated,
                              self.error_model, design.effect_param, float(frame["time"].max()),
                              bool((frame["censoring"] != "").any()))
        start = fit_pooled(problem, data_arrays, consts,
                           self._starts(problem, structure, transforms, consts, float(np.std(y)) or 1.0))
        fit = fit_map(problem, start, self.tol)

        self.structure_, self.problem_ = structure, problem
        self.data_, self.subjects_ = frame, subjects
        self.design_ = design
        self.names_, self.random_names_ = names, random
        self.error_names_ = list(problem.error_names)
        self.error_ = problem.error
        self.converged_ = fit["converged"]
        self.log_marginal_likelihood_ = -fit["objective"]
        self.divergences_ = self.rhat_ = self.ess_ = None
        self.posterior_ = self.inference_data_ = None

        x = data_arrays["x"]
        y_ref = float(data_arrays["y_ref"][0])
        point = _numpy(problem.compiled["natural"](fit["x"][None], fit["eta"][None], x, y_ref))
        self._phi_point = fit["x"]
        if self.method == "map":
            draws, diverging = {k: v[None] for k, v in point.items()}, None
        elif self.method == "laplace":
            cov = laplace_covariance(problem, fit)
            labels = self._phi_labels()
            self.covariance_ = pd.DataFrame(cov, index=labels, columns=labels)
            phi, eta = laplace_draws(fit, cov, self.n_draws, self.seed)
            draws = {k: v[None] for k, v in _numpy(problem.compiled["natural"](phi, eta, x, y_ref)).items()}
            diverging = None
        else:
            phi, eta, diverging = run_nuts(
                problem, fit, num_chains=self.num_chains, num_warmup=self.num_warmup, num_samples=self.num_samples,
                target_accept_prob=self.target_accept_prob, chain_method=self.chain_method, seed=self.seed,
                init_jitter=self.init_jitter)
            c, d = phi.shape[:2]
            flat = _numpy(problem.compiled["natural"](phi.reshape(c * d, -1), eta.reshape(c * d, *eta.shape[2:]), x,
                                                       y_ref))
            draws = {k: v.reshape(c, d, *v.shape[1:]) for k, v in flat.items()}
            point = {k: np.median(v.reshape(c * d, *v.shape[2:]), axis=0)[None] for k, v in draws.items()}
            point["correlation"] = draws["correlation"].mean(axis=(0, 1))[None]
            self._phi_point = np.median(phi, axis=(0, 1))
            self.divergences_ = int(diverging.sum())
        self._set_point(point)
        self._set_draws(draws, diverging)
        if self.method == "nuts":
            self.converged_ = self.converged_ and bool(self.rhat_.max() < RHAT_LIMIT)
        return self

    def _observations(self, data, structure) -> pd.DataFrame:
        frame = tidy_observations(data)
        observables = list(pd.unique(frame["observable"]))
        observable = self.observable or structure.observable
        if observable not in observables:
            if len(observables) == 1 and self.observable is None:
                observable = observables[0]
            else:
                raise CalibrationError("data hold no " + unknown("observable", str(observable), observables)
                                       + "; pass observable=")
        frame = frame[frame["observable"] == observable].copy()
        if "censoring" not in frame:
            frame["censoring"] = ""
        frame = frame.sort_values(["subject", "time"], kind="stable")
        self.n_dropped_ = 0
        if self.error_model == "lognormal":
            bad = (frame["value"] <= 0)
            if (bad & (frame["censoring"] != "")).any():
                raise CalibrationError("a censored value <= 0 cannot enter a log-normal error model; give the "
                                       "limit of quantification as the value")
            self.n_dropped_ = int(bad.sum())
            frame = frame[~bad]
        if frame.empty:
            raise CalibrationError(f"no usable observations of '{observable}'")
        return frame

    def _starts(self, problem, structure, transforms, consts, sd_y: float) -> list[np.ndarray]:
        """Unconstrained starts: the prior centres and the structure's own initial guesses, with ω = 0.3
        and relative error 0.3 (additive: SD/2; power exponent 1/2)."""
        from jax.flatten_util import ravel_pytree

        error = np.array([0.0 if error_kind(name) == "exponent"
                          else math.log(sd_y / 2 if error_kind(name) == "additive" else 0.3)
                          for name in problem.error_names])
        centres = [np.asarray(consts["mu_mean"])]
        for guess in structure.initial_guesses:
            if all(tr.lo < g and (tr.log or g < tr.hi) for tr, g in zip(transforms, guess)):
                centres.append(np.array([tr.forward(g) for tr, g in zip(transforms, guess)]))
        out = []
        for mu in centres:
            phi = {**problem.template, "mu": mu, "log_omega": np.full(problem.n_re, math.log(0.3)), "error": error}
            out.append(np.asarray(ravel_pytree({k: problem.jnp.asarray(v) for k, v in phi.items()})[0]))
        return out

    # ------------------------------------------------------------------ results
    def _phi_labels(self) -> list[str]:
        """Names of the unconstrained coordinates of φ, in the order of their flat vector (keys sorted)."""
        r = self.random_names_
        parts = {"beta": [f"beta[{n}]" for n in self.design_.names],
                 "corr": [f"atanh cpc[{r[i]} | {r[j]}]" for i in range(len(r)) for j in range(i)]
                 if self.problem_.correlated else [],
                 "error": [("logit " if error_kind(n) == "exponent" else "log ") + n for n in self.error_names_],
                 "log_omega": [f"log omega[{n}]" for n in r], "mu": [f"mu[{n}]" for n in self.names_]}
        return [label for key in sorted(parts) for label in parts[key]]

    def _set_point(self, point: dict) -> None:
        p = {k: v[0] for k, v in point.items()}
        self.population_ = pd.Series(p["typical"], index=pd.Index(self.names_, name="parameter"))
        self.omega_ = pd.Series(p["omega"], index=pd.Index(self.random_names_, name="parameter"))
        self.correlation_ = pd.DataFrame(p["correlation"], index=self.random_names_, columns=self.random_names_)
        self.covariate_effects_ = pd.Series(p["beta"], index=pd.Index(self.design_.names, name="effect"), dtype=float)
        self.sigma_ = pd.Series(p["error"], index=pd.Index(self.error_names_, name="error parameter"))
        self.individual_ = pd.DataFrame(p["individual"], index=pd.Index(self.subjects_, name="subject"),
                                        columns=pd.Index(self.names_, name="parameter"))

    def _rows(self, draws: dict) -> list[tuple[str, str, np.ndarray]]:
        """(quantity, name, draws (chain, draw)) of every summary row."""
        rows = [("typical value", n, draws["typical"][..., k]) for k, n in enumerate(self.names_)]
        rows += [("covariate effect", n, draws["beta"][..., k]) for k, n in enumerate(self.design_.names)]
        rows += [("omega", n, draws["omega"][..., k]) for k, n in enumerate(self.random_names_)]
        if self.problem_.correlated:
            r = self.random_names_
            rows += [("correlation", f"{r[i]} | {r[j]}", draws["correlation"][..., i, j])
                     for i in range(len(r)) for j in range(i)]
        rows += [("residual error", n, draws["error"][..., k]) for k, n in enumerate(self.error_names_)]
        return rows

    def _set_draws(self, draws: dict, diverging) -> None:
        lo, hi = (1 - self.interval) / 2, (1 + self.interval) / 2
        rows = self._rows(draws)
        point = self._rows(self._point_arrays())
        index = pd.MultiIndex.from_tuples([(q, n) for q, n, _ in rows], names=["quantity", "name"])
        sampled = self.method != "map"
        table = pd.DataFrame({
            "estimate": [float(np.ravel(v)[0]) for _, _, v in point],
            "sd": [float(np.std(v)) if sampled else math.nan for _, _, v in rows],
            f"{lo:.1%}": [float(np.quantile(v, lo)) if sampled else math.nan for _, _, v in rows],
            f"{hi:.1%}": [float(np.quantile(v, hi)) if sampled else math.nan for _, _, v in rows],
        }, index=index)
        if self.method == "nuts":
            self.rhat_ = pd.Series([rank_rhat(v) for _, _, v in rows], index=index, name="r_hat")
            self.ess_ = pd.Series([bulk_ess(v) for _, _, v in rows], index=index, name="ess")
            table["r_hat"], table["ess"] = self.rhat_, self.ess_
        self._summary = table
        self._interval_columns = (f"{lo:.1%}", f"{hi:.1%}")
        if sampled:
            self.posterior_ = self._dataset(draws)
            self.inference_data_ = self._datatree(self.posterior_, diverging)

    def _point_arrays(self) -> dict:
        return {"typical": self.population_.to_numpy(), "beta": self.covariate_effects_.to_numpy(),
                "omega": self.omega_.to_numpy(), "correlation": self.correlation_.to_numpy(),
                "error": self.sigma_.to_numpy()}

    def _dataset(self, draws: dict):
        c, d = draws["typical"].shape[:2]
        coords = {"chain": np.arange(c), "draw": np.arange(d), "parameter": self.names_,
                  "random_effect": self.random_names_, "random_effect_2": self.random_names_,
                  "effect": self.design_.names, "error_parameter": self.error_names_, "subject": self.subjects_}
        ds = xr.Dataset({
            "typical value": (("chain", "draw", "parameter"), draws["typical"]),
            "omega": (("chain", "draw", "random_effect"), draws["omega"]),
            "correlation": (("chain", "draw", "random_effect", "random_effect_2"), draws["correlation"]),
            "covariate effect": (("chain", "draw", "effect"), draws["beta"]),
            "residual error": (("chain", "draw", "error_parameter"), draws["error"]),
            "individual": (("chain", "draw", "subject", "parameter"), draws["individual"]),
        }, coords=coords)
        ds.attrs.update({"method": self.method, "seed": self.seed, "error_model": self.error_model,
                         "interval": self.interval, "model": _describe(self.law_or_model),
                         "citations": ", ".join(self.citations)})
        return ds

    def _datatree(self, posterior, diverging):
        obs = self.data_.reset_index(drop=True)
        observed = xr.Dataset({"value": ("observation", obs["value"].to_numpy())},
                              coords={"observation": np.arange(len(obs)), "subject": ("observation", obs["subject"]),
                                      "time": ("observation", obs["time"].to_numpy())})
        groups = {"posterior": posterior, "observed_data": observed}
        if diverging is not None:
            groups["sample_stats"] = xr.Dataset({"diverging": (("chain", "draw"), diverging)},
                                                coords={"chain": posterior.chain, "draw": posterior.draw})
        return xr.DataTree.from_dict(groups)

    @property
    def citations(self) -> tuple[str, ...]:
        """References behind the fit: the structural model's, and the methods'."""
        methods = {"nuts": ("Hoffman2014", "Phan2019", "Betancourt2015", "Vehtari2021"),
                   "laplace": ("Tierney1986",), "map": ("Tierney1986",)}[self.method]
        lkj = ("Lewandowski2009",) if self.correlated else ()
        return tuple(dict.fromkeys((*self.structure_.citations, *methods, *lkj, "Gelman2006")))

    # ------------------------------------------------------------------ predictions
    def _typical_z(self, x: np.ndarray) -> np.ndarray:
        """μ + A(x ⊙ β) for covariate rows x ``(n, E)``: typical values on the transformed scale ``(n, K)``."""
        phi = self.problem_.unravel(self.problem_.jnp.asarray(self._phi_point))
        mu, beta = np.asarray(phi["mu"]), np.asarray(phi["beta"])
        return mu + (x * beta) @ self.problem_.effect_map

    def _theta(self, z: np.ndarray) -> np.ndarray:
        return np.column_stack([tr.inverse(z[:, k], np) for k, tr in enumerate(self.problem_.transforms)])

    def _sample_theta(self, x: np.ndarray, rng) -> np.ndarray:
        """Parameters of virtual subjects with covariate rows x, drawn from the fitted population."""
        z = self._typical_z(x)
        cov = np.outer(self.omega_, self.omega_) * self.correlation_.to_numpy()
        b = rng.multivariate_normal(np.zeros(len(self.random_names_)), cov, size=len(x), method="cholesky")
        z[:, [self.names_.index(n) for n in self.random_names_]] += b
        return self._theta(z)

    def _residual(self, f: np.ndarray, rng) -> np.ndarray:
        """Observations simulated around predictions f under the fitted error model."""
        return self.error_.simulate(f, self.sigma_.to_dict(), rng)

    # ------------------------------------------------------------------ cohorts
    def cohort_distribution(self, at: Mapping[str, object] | None = None):
        """``(typical, variability)`` for :func:`chemohost.cohort.sample_cohort`.

        ``typical`` maps every parameter a simulation of the fitted structure
        needs (estimated ones at the covariate values ``at``, default the
        reference level or value; a value may be an array of n patients) to its
        typical value; ``variability`` is a
        :class:`~chemohost.parameters.LogNormalVariability` with the fitted ω
        and correlation (tag ``C``).

        Raises
        ------
        CalibrationError
            When a varying parameter is logit-normal (a finite upper bound):
            log-normal variability cannot represent it.
        """
        self._check_fitted()
        logit = [n for n in self.random_names_ if not self.problem_.transforms[self.names_.index(n)].log]
        if logit:
            raise CalibrationError(f"{logit} vary logit-normally (bounded above); LogNormalVariability cannot "
                                   "represent them: fix them (random_effects=) or sample individual_ instead")
        x = self.design_.row(at or {})
        typical_theta = self._theta(self._typical_z(np.atleast_2d(x)))
        n = typical_theta.shape[0]
        typical = {**self.structure_.fixed_parameters(),
                   **{name: (typical_theta[:, k] if n > 1 else float(typical_theta[0, k]))
                      for k, name in enumerate(self.names_)}}
        source = (f"PopulationFitter(method='{self.method}') on {len(self.subjects_)} subjects"
                  f"{' (posterior median)' if self.method == 'nuts' else ' (MAP)'}")
        omega = {n: ParameterValue(float(self.omega_[n]), "-", "C", source) for n in self.random_names_}
        blocks = ()
        if self.problem_.correlated:
            blocks = (Correlation(tuple(self.random_names_), self.correlation_.to_numpy().tolist(), "C",
                                  source + ("; posterior mean correlation" if self.method == "nuts" else "")),)
        return typical, LogNormalVariability(omega, blocks)

    def to_cohort(self, n: int, seed: int = 0, at: Mapping[str, object] | None = None) -> pd.DataFrame:
        """``n`` virtual subjects drawn from the fitted population (:func:`chemohost.cohort.sample_cohort`)."""
        typical, variability = self.cohort_distribution(at)
        return sample_cohort(n, typical, variability, seed=seed)

    # ------------------------------------------------------------------ plots
    def plot(self, kind: str = "individual", ax=None, n_replicates: int = 200, seed: int = 0):
        """Individual fits (``kind="individual"``: one panel per subject, observations,
        individual and typical predictions) or a visual predictive check
        (``kind="vpc"``: observed 5/50/95th percentiles per time bin against the
        90% bands of the same percentiles in ``n_replicates`` simulated copies
        of the design). Returns the Axes (an array of them for ``"individual"``)."""
        import matplotlib.pyplot as plt

        self._check_fitted()
        if kind not in ("individual", "vpc"):
            raise CalibrationError(unknown("plot kind", str(kind), ("individual", "vpc")))
        if kind == "vpc":
            return self._plot_vpc(ax or plt.subplots(figsize=(6, 4))[1], n_replicates, seed)
        n = len(self.subjects_)
        cols = min(5, n)
        rows = -(-n // cols)
        if ax is None:
            _, ax = plt.subplots(rows, cols, figsize=(2.4 * cols, 2.0 * rows), sharex=True, sharey=True, squeeze=False)
        axes = np.ravel(ax)
        typical = self._theta(self._typical_z(self.design_.x))
        for i, subject in enumerate(self.subjects_):
            obs = self.data_[self.data_["subject"] == subject]
            grid = np.linspace(min(obs["time"].min(), self.structure_.t0), obs["time"].max(), 100)
            a = axes[i]
            a.plot(obs["time"], obs["value"], "o", ms=3, color="k")
            individual = self.structure_.predict(self.individual_.to_numpy()[i], grid)[0]
            a.plot(grid, individual, color="C0", label="individual")
            a.plot(grid, self.structure_.predict(typical[i], grid)[0], "--", color="C1", label="typical")
            a.set_title(str(subject), fontsize=8)
            a.set_yscale("log" if self.error_model in ("lognormal", "proportional", "power") else "linear")
        for a in axes[n:]:
            a.set_visible(False)
        axes[0].legend(fontsize=7)
        return ax

    def _plot_vpc(self, ax, n_replicates: int, seed: int):
        rng = np.random.default_rng(seed)
        obs = self.data_
        edges = np.unique(np.quantile(obs["time"], np.linspace(0, 1, min(10, obs["time"].nunique()) + 1)))
        bins = np.clip(np.searchsorted(edges, obs["time"], side="right") - 1, 0, len(edges) - 2)
        q = (0.05, 0.5, 0.95)
        order = {s: i for i, s in enumerate(self.subjects_)}
        idx = obs["subject"].map(order).to_numpy()
        sims = np.empty((n_replicates, len(obs)))
        for r in range(n_replicates):
            theta = self._sample_theta(self.design_.x, rng)
            f = np.empty(len(obs))
            for i in range(len(self.subjects_)):
                rows = idx == i
                f[rows] = self.structure_.predict(theta[i], obs["time"].to_numpy()[rows])[0]
            sims[r] = self._residual(f, rng)
        centres = [obs["time"][bins == b].median() for b in range(len(edges) - 1)]
        for j, level in enumerate(q):
            observed = [np.quantile(obs["value"][bins == b], level) for b in range(len(edges) - 1)]
            simulated = np.array([[np.quantile(s[bins == b], level) for b in range(len(edges) - 1)] for s in sims])
            band = np.quantile(simulated, [0.05, 0.95], axis=0)
            ax.fill_between(centres, band[0], band[1], color=f"C{j}", alpha=0.25,
                            label=f"simulated {level:.0%} (90% band)")
            ax.plot(centres, observed, "-o", color=f"C{j}", ms=3, label=f"observed {level:.0%}")
        ax.scatter(obs["time"], obs["value"], s=4, color="k", alpha=0.4)
        ax.set_xlabel("time [day]")
        ax.set_ylabel(str(obs["observable"].iloc[0]))
        if self.error_model in ("lognormal", "proportional", "power"):
            ax.set_yscale("log")
        ax.legend(fontsize=6)
        return ax

    _fitted_attribute = "population_"

    def _summary_table(self) -> pd.DataFrame:
        """Estimates, SD and interval bounds (and R-hat, bulk ESS for NUTS) per quantity."""
        return self._summary

    def _criteria(self) -> tuple[float, int, int]:
        """The Laplace approximation of log p(y | φ̂) + log p(φ̂) at the MAP, the unconstrained population
        parameters φ and the observations (for NUTS too: its MAP start)."""
        return self.log_marginal_likelihood_, int(self.problem_.n_phi), len(self.data_)

    def predict(self, times, subject=None) -> np.ndarray:
        """The observable at ``times`` [day]: a fitted subject's individual prediction, or (``subject=None``)
        the typical subject's at the reference covariate values."""
        self._check_fitted()
        if subject is None:
            theta = self._theta(self._typical_z(np.atleast_2d(self.design_.row({}))))[0]
        elif subject in self.individual_.index:
            theta = self.individual_.loc[subject].to_numpy()
        else:
            raise CalibrationError(unknown("fitted subject", str(subject), self.subjects_))
        return self.structure_.predict(theta, np.asarray(times, float))[0]


class _CovariateDesign:
    """Subject-level covariate columns as effects on typical values: names, parameter of each, x ``(S, E)``."""

    def __init__(self, frame: pd.DataFrame, subjects: list, covariates: Mapping, names: list[str]):
        self.names: list[str] = []
        self.effect_param: list[int] = []
        self.columns: list[tuple] = []  # (effect index, column, kind, reference or level)
        columns_x = []
        for param, cols in covariates.items():
            if param not in names:
                raise CalibrationError("covariates: " + unknown("estimated parameter", param, names))
            for col in [cols] if isinstance(cols, str) else list(cols):
                values = _subject_values(frame, subjects, col)
                if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
                    v = values.to_numpy(float)
                    if not np.all(v > 0):
                        raise CalibrationError(f"covariate '{col}' must be > 0 for a power covariate "
                                               f"(x/x_ref)^κ; found {v[~(v > 0)][0]}")
                    ref = float(np.median(v))
                    self.columns.append((len(self.names), col, "power", ref))
                    self.names.append(f"{param} ~ ({col}/{ref:g})^kappa")
                    columns_x.append(np.log(v / ref))
                    self.effect_param.append(names.index(param))
                else:
                    categorical = isinstance(values.dtype, pd.CategoricalDtype)
                    levels = list(values.cat.categories) if categorical else sorted(pd.unique(values))
                    for level in levels[1:]:
                        self.columns.append((len(self.names), col, "level", level))
                        self.names.append(f"{param} ~ {col}={level}")
                        columns_x.append((values == level).to_numpy(float))
                        self.effect_param.append(names.index(param))
        self.x = np.column_stack(columns_x) if columns_x else np.zeros((len(subjects), 0))

    def row(self, at: Mapping[str, object]) -> np.ndarray:
        """The covariate row(s) ``(E,)`` or ``(n, E)`` of subjects with the values ``at`` (default: reference)."""
        known = {col for _, col, _, _ in self.columns}
        for col in at:
            if col not in known:
                raise CalibrationError("at: " + unknown("covariate column", str(col), known or ("(none)",)))
        values = {col: np.asarray(v) for col, v in at.items()}
        n = max([v.size for v in values.values()], default=1)
        x = np.zeros((n, len(self.names)))
        for e, col, kind, ref in self.columns:
            if col not in values:
                continue
            if kind == "power":
                x[:, e] = np.log(np.broadcast_to(values[col].astype(float), (n,)) / ref)
            else:
                x[:, e] = np.broadcast_to(values[col] == ref, (n,))
        return x[0] if n == 1 else x


def _subject_values(frame: pd.DataFrame, subjects: list, col: str) -> pd.Series:
    if col not in frame:
        raise CalibrationError(f"covariate column '{col}' is not in the data; columns: "
                               f"{', '.join(map(str, frame.columns))}")
    grouped = frame.groupby("subject", sort=False)[col]
    varying = grouped.nunique(dropna=False) > 1
    if varying.any():
        raise CalibrationError(f"covariate '{col}' varies within subject '{varying.idxmax()}'; subject covariates "
                               "must be constant per subject")
    return grouped.first().reindex(subjects)


def _padded(per_subject, subjects: list, x: np.ndarray) -> dict[str, np.ndarray]:
    """Observations as ``(S, T)`` arrays padded with each subject's last time and a masked value 1."""
    n_max = max(len(g) for _, g in per_subject)
    S = len(subjects)
    t, y = np.zeros((S, n_max)), np.ones((S, n_max))
    mask, cens = np.zeros((S, n_max), bool), np.zeros((S, n_max), np.int8)
    groups = dict(list(per_subject))
    for i, subject in enumerate(subjects):
        g = groups[subject]
        n = len(g)
        t[i, :n], t[i, n:] = g["time"], g["time"].iloc[-1]
        y[i, :n] = g["value"]
        mask[i, :n] = True
        cens[i, :n] = g["censoring"].map(_CENSORING)
    return {"t": t, "y": y, "mask": mask, "cens": cens, "x": x}


def _rank_normal(draws: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks of ``draws`` (chain, draw): Φ⁻¹((r − 3/8)/(n + 1/4)) (Blom)."""
    ranks = rankdata(draws, method="average").reshape(draws.shape)
    return ndtri((ranks - 0.375) / (draws.size + 0.25))


def _split(draws: np.ndarray) -> np.ndarray:
    """Each chain cut in two halves: (2·chain, draw/2)."""
    half = draws.shape[1] // 2
    return np.concatenate([draws[:, :half], draws[:, half : 2 * half]])


def rank_rhat(draws: np.ndarray) -> float:
    """Rank-normalised split R-hat of ``draws`` (chain, draw): the larger of the bulk and the folded (tail)
    value (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021, eq. 15); computed with NumPyro's split R-hat."""
    from numpyro.diagnostics import split_gelman_rubin

    draws = np.asarray(draws, float)
    if np.ptp(draws) == 0:
        return math.nan
    folded = np.abs(draws - np.median(draws))
    return float(max(split_gelman_rubin(_rank_normal(draws)), split_gelman_rubin(_rank_normal(folded))))


def bulk_ess(draws: np.ndarray) -> float:
    """Bulk effective sample size of ``draws`` (chain, draw): the ESS of the rank-normalised split chains
    (Vehtari et al. 2021), computed with NumPyro's autocorrelation-based ESS."""
    from numpyro.diagnostics import effective_sample_size

    draws = np.asarray(draws, float)
    if np.ptp(draws) == 0:
        return math.nan
    return float(effective_sample_size(_split(_rank_normal(draws))))


def _numpy(tree: dict) -> dict:
    return {k: np.asarray(v) for k, v in tree.items()}


def _describe(law_or_model) -> str:
    return law_or_model if isinstance(law_or_model, str) else repr(law_or_model)
