r"""The population model's log density in JAX, its Laplace approximation, and NUTS.

For subject i with subject-level covariates x_i and observations y_ij at t_ij:

    z_i = μ + A(x_i ⊙ β) + P(ω ⊙ L·η_i),   η_i ~ N(0, I)           (non-centred)
    θ_ik = T_k⁻¹(z_ik)                                              (log: θ = e^z; logit on (lo, hi))
    y_ij ~ error model(f(t_ij; θ_i), σ)

with μ the typical values on the transformed scale, ω the inter-individual
SDs, L the Cholesky factor of the random-effect correlation, A and P the
one-hot maps from covariate effects and random effects to parameters. For a
log-transformed parameter the random effect is log-normal, θ_ik = θ_k·e^{b_ik}.

The observations' log-likelihood is the error model's own
:meth:`~chemohost.calibration.ErrorModel.loglik` evaluated with ``jax.numpy``
(the same function the individual fitter evaluates with NumPy). The joint log
density is written over the unconstrained population parameters φ = (μ, ln ω,
atanh-CPC of L, β, error parameters) and the subjects' parameters. NUTS
samples it centred — each subject's varying parameters z_i ~ N(m_i, Ω) are
sampled themselves, with a dense mass matrix over φ — because growth curves
pin each subject down and the non-centred form then mixes poorly (measured on
the 30-mouse Gompertz cohort of the tests, 4 × 1,000 draws: an ESS of ~400 for
the typical values non-centred, ~6,400 centred); the Laplace
path integrates each η_i out by a second-order expansion about its conditional
mode (Tierney & Kadane 1986; the "Laplacian" method of population PK),

    log p(y_i | φ) ≈ −g_i(η̂_i) − ½·log det ∇²g_i(η̂_i),   g_i(η) = −log p(y_i | η, φ) + ½ηᵀη,

maximises log p(y | φ) + log p(φ) over φ (MAP) and approximates the posterior
of φ by a Gaussian with the inverse Hessian as covariance (Laplace). The inner
modes are found with :func:`optimistix.minimise` (BFGS) and differentiated
implicitly.

Priors (weakly informative; override the typical-value ones with ``priors=``):

- μ_k ~ N(T_k(θ_k^decl), 2²): centred on the parameter's declared default (its
  citable parameter set); SD 2 on the log scale spans a factor e^{±4} (95%).
- ω_k ~ Half-N(0, 1): SD of the log parameter; published IIV SDs of tumour
  growth and kill parameters are 0.2–0.75 (MODEL_SPEC §1.3, §3.2), well inside.
  Half-normal scale priors for hierarchical SDs: Gelman 2006.
- L ~ LKJ(2) (Lewandowski, Kurowicka & Joe 2009), through its C-vine partial
  correlations w_j ~ Beta(b_j, b_j) on (−1, 1), b_j = η + (d − 2 − j)/2; LKJ(2)
  mildly favours weak correlations (the Stan manual's weakly informative choice).
- β ~ N(0, 1): a group shifts a log-normal typical value by a factor within
  e^{±2} (95%); a power-covariate exponent within ±2 (allometric exponents are
  0.75–1).
- relative SDs (``sigma_prop``, the log-normal ``sigma``, and the power model's
  σ sampled as b = σ·y_ref^(α−1) relative to the median observation y_ref)
  ~ Half-N(0, 1) (log-volume residual SDs of caliper data are ≈ 0.5:
  VALIDATION V8, SSE 45.3 over 188 observations); ``sigma_add`` ~ Half-N(0, s_y)
  with s_y the SD of the observations (a unit-free scaling); the power
  exponent ``alpha`` ~ U(0, 1) (sub-proportional error, Benzekry et al. 2014).
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import BFGS, Bounds, minimize

from ._error_models import ERROR_MODELS, PowerError
from ._errors import CalibrationError
from ._jax_laws import _import_jax
from ._jax_structures import ModelStructure

__all__ = ["PopulationProblem", "Transform", "error_kind"]

def error_kind(name: str) -> str:
    """How the population model holds an error parameter: ``"exponent"`` (the power model's α = sigmoid(z),
    U(0, 1) prior), ``"additive"`` (σ_add = e^z, in the data's unit) or ``"relative"`` (a unit-free SD e^z; the
    power model's σ is sampled as b = σ·y_ref^(α−1), relative to the median observation y_ref)."""
    return {"alpha": "exponent", "sigma_add": "additive"}.get(name, "relative")


PRIOR_SD_TYPICAL = 2.0
"""SD of μ_k on the log (logit) scale around the declared default (see the module docstring)."""
OMEGA_PRIOR_SCALE = 1.0
"""Scale of the half-normal prior of ω (Gelman 2006; IIV SDs in MODEL_SPEC §1.3, §3.2 are 0.2–0.75)."""
LKJ_CONCENTRATION = 2.0
"""η of the LKJ prior on the random-effect correlation (Lewandowski et al. 2009; Stan manual's weak default)."""
EFFECT_PRIOR_SD = 1.0
"""SD of the normal prior of covariate effects β (a factor e^{±2} at 95%)."""
RELATIVE_SD_PRIOR_SCALE = 1.0
"""Scale of the half-normal prior of relative residual SDs (log-volume residual SD ≈ 0.5, VALIDATION V8)."""
INNER_TOL = 1e-8
"""rtol/atol of the inner BFGS searches for the conditional modes η̂_i (well below the outer tolerance)."""
HUGE = 1e150
"""Predictions are clipped to ±HUGE so that far-off trial points give finite likelihoods."""
PENALTY = 1e20
"""Objective value the outer searches see at a point where it is not finite (they then shrink their step)."""


@dataclass(frozen=True)
class Transform:
    """θ = e^z (``lo >= 0``, ``hi = inf``) or θ = lo + (hi − lo)·sigmoid(z) (finite ``hi``)."""

    lo: float
    hi: float

    @classmethod
    def for_bounds(cls, name: str, lo: float, hi: float) -> Transform:
        if not (lo >= 0 and (math.isinf(hi) or hi > lo)):
            raise CalibrationError(f"'{name}' has bounds ({lo}, {hi}); population fits need a lower bound >= 0 "
                                   "(log-normal or, with a finite upper bound, logit-normal variability)")
        return cls(0.0 if math.isinf(hi) else float(lo), float(hi))

    @property
    def log(self) -> bool:
        return math.isinf(self.hi)

    def forward(self, theta):
        """z from θ (NumPy)."""
        theta = np.asarray(theta, float)
        if self.log:
            return np.log(theta)
        u = (theta - self.lo) / (self.hi - self.lo)
        return np.log(u) - np.log1p(-u)

    def inverse(self, z, jnp):
        """θ from z (``jnp`` is jax.numpy or numpy)."""
        if self.log:
            return jnp.exp(z)
        return self.lo + (self.hi - self.lo) / (1 + jnp.exp(-z))


def _corr_cholesky(w, d: int, jnp):
    """Cholesky factor of a correlation matrix from its C-vine partial correlations ``w`` (Stan's construction)."""
    rows = [jnp.zeros(d).at[0].set(1.0)]
    k = 0
    for i in range(1, d):
        row, remaining = [], 1.0
        for _ in range(i):
            value = w[k] * jnp.sqrt(remaining)
            remaining = remaining - value**2
            row.append(value)
            k += 1
        row.append(jnp.sqrt(remaining))
        rows.append(jnp.concatenate([jnp.stack(row), jnp.zeros(d - i - 1)]))
    return jnp.stack(rows)


def _cpc_concentrations(d: int) -> np.ndarray:
    """Beta concentrations of the C-vine partial correlations of LKJ(η), in ``_corr_cholesky``'s order."""
    return np.array([LKJ_CONCENTRATION + (d - 2 - j) / 2 for i in range(1, d) for j in range(i)])


class PopulationProblem:
    """The static structure of one population model; data and prior constants are arguments.

    Compiled functions are cached on the problem, and problems are cached by
    :func:`problem_for`, so repeated fits of same-shaped data compile once.
    """

    def __init__(self, structure, transforms: tuple[Transform, ...], random: tuple[int, ...], correlated: bool,
                 error_model: str, effect_param: tuple[int, ...], t_end: float, censored: bool):
        jax, jnp = _import_jax()
        self.jax, self.jnp = jax, jnp
        self.structure = structure
        self.transforms = transforms
        self.random = np.asarray(random, int)
        self.n_par, self.n_re = len(transforms), len(random)
        self.correlated = correlated and self.n_re > 1
        self.n_corr = self.n_re * (self.n_re - 1) // 2 if self.correlated else 0
        self.error_model = error_model
        self.error = ERROR_MODELS[error_model]()
        self.error_names = self.error.parameter_names
        self.censored = censored
        self.n_err = len(self.error_names)
        self.effect_map = np.zeros((len(effect_param), self.n_par))
        self.effect_map[np.arange(len(effect_param)), list(effect_param)] = 1.0
        self.predict_one = structure.jax_predict(t_end)
        self.template = {
            "mu": np.zeros(self.n_par), "log_omega": np.zeros(self.n_re), "corr": np.zeros(self.n_corr),
            "beta": np.zeros(len(effect_param)), "error": np.zeros(self.n_err),
        }
        from jax.flatten_util import ravel_pytree

        flat, self.unravel = ravel_pytree(jax.tree.map(jnp.asarray, self.template))
        self.n_phi = flat.size

    # ------------------------------------------------------------------ the model
    def theta(self, phi, eta, x):
        """Individual parameters θ ``(K,)`` from φ, η ``(R,)`` and covariates x ``(E,)``."""
        jnp = self.jnp
        z = phi["mu"] + (x * phi["beta"]) @ self.effect_map
        b = jnp.exp(phi["log_omega"]) * (self.chol(phi) @ eta)
        z = z.at[self.random].add(b)
        return jnp.stack([tr.inverse(z[k], jnp) for k, tr in enumerate(self.transforms)])

    def chol(self, phi):
        jnp = self.jnp
        if not self.correlated:
            return jnp.eye(self.n_re)
        return _corr_cholesky(jnp.tanh(phi["corr"]), self.n_re, jnp)

    def error_parameters(self, phi, y_ref, jnp=None):
        """Natural error parameters ``(n_err,)`` in :attr:`error_names` order (see :func:`error_kind`)."""
        jnp = jnp or self.jnp
        z = phi["error"]
        values = {n: 1 / (1 + jnp.exp(-z[k])) if error_kind(n) == "exponent" else jnp.exp(z[k])
                  for k, n in enumerate(self.error_names)}
        if isinstance(self.error, PowerError):
            values["sigma"] = values["sigma"] * y_ref ** (1 - values["alpha"])
        return jnp.stack([values[n] for n in self.error_names])

    def loglik(self, phi, theta, d):
        """Σ_j log p(y_ij | θ_i) over one subject's observations: the error model's own log-likelihood."""
        jnp = self.jnp
        lowest = 1 / HUGE if self.error_model == "lognormal" else -HUGE
        f = jnp.clip(self.predict_one(theta, d["t"]), lowest, HUGE)  # keeps far-off trial points finite
        err = dict(zip(self.error_names, self.error_parameters(phi, d["y_ref"])))
        ll = self.error.loglik(d["y"], f, err, d["cens"] if self.censored else None, xp=jnp)
        return jnp.sum(jnp.where(d["mask"], ll, 0.0))

    def g(self, eta, phi, d):
        """−log p(y_i | η_i, φ) + ½|η_i|² for one subject (``d`` its slice of the data)."""
        return -self.loglik(phi, self.theta(phi, eta, d["x"]), d) + 0.5 * eta @ eta

    def log_prior(self, phi, c):
        """log p(φ) in the unconstrained coordinates (log-Jacobians included)."""
        from jax.scipy.stats import beta as beta_dist
        from jax.scipy.stats import norm

        jnp = self.jnp
        lp = jnp.sum(norm.logpdf(phi["mu"], c["mu_mean"], c["mu_sd"]))
        # half-normal on e^z, plus the Jacobian z
        lp += jnp.sum(norm.logpdf(jnp.exp(phi["log_omega"]), 0.0, OMEGA_PRIOR_SCALE) + phi["log_omega"])
        if self.correlated:
            w = jnp.tanh(phi["corr"])
            a = _cpc_concentrations(self.n_re)
            lp += jnp.sum(beta_dist.logpdf((w + 1) / 2, a, a) + jnp.log1p(-(w**2)))
        lp += jnp.sum(norm.logpdf(phi["beta"], 0.0, EFFECT_PRIOR_SD))
        for k, name in enumerate(self.error_names):
            z = phi["error"][k]
            if error_kind(name) == "exponent":  # U(0, 1) on sigmoid(z): the logistic density
                lp += -z - 2 * jnp.log1p(jnp.exp(-z))
            else:
                scale = c["additive_scale"] if error_kind(name) == "additive" else RELATIVE_SD_PRIOR_SCALE
                lp += norm.logpdf(jnp.exp(z), 0.0, scale) + z
        return lp

    # ------------------------------------------------------------------ NUTS
    def scaled_chol(self, phi):
        """C = diag(ω)·L: the Cholesky factor of the random effects' covariance Ω = C·Cᵀ."""
        return self.jnp.exp(phi["log_omega"])[:, None] * self.chol(phi)

    def typical_z(self, phi, x):
        """μ + A(x ⊙ β): a subject's typical parameters on the transformed scale ``(K,)``."""
        return phi["mu"] + (x * phi["beta"]) @ self.effect_map

    def theta_centred(self, phi, z, x):
        """Individual parameters θ ``(K,)`` from φ and the subject's own varying parameters z ``(R,)``
        (transformed scale)."""
        jnp = self.jnp
        full = self.typical_z(phi, x).at[self.random].set(z)
        return jnp.stack([tr.inverse(full[k], jnp) for k, tr in enumerate(self.transforms)])

    def eta_of(self, flat, z, x):
        """η_i = C⁻¹·(z_i − m_i) for every subject ``z (S, R)``, ``x (S, E)``: centred draws to non-centred η."""
        from jax.scipy.linalg import solve_triangular

        phi = self.unravel(flat)
        b = z - self.jax.vmap(self.typical_z, in_axes=(None, 0))(phi, x)[:, self.random]
        return solve_triangular(self.scaled_chol(phi), b.T, lower=True).T

    def potential(self, params, data, consts):
        """−log p(y, z, φ) for NUTS, centred: ``params = {"phi": flat (n_phi,), "z": (S, R)}`` with each
        subject's varying parameters z_i ~ N(m_i, Ω) (transformed scale, m_i its typical value) sampled
        themselves. When each subject's data pin its parameters down (the usual case of growth curves), z_i
        is nearly fixed by its data and μ, Ω only by the z_i: the centred form then mixes well, while the
        non-centred one (z_i = m_i + C·η_i) ties μ, ω and every η_i in a narrow ridge (Papaspiliopoulos,
        Roberts & Sköld 2007; Betancourt & Girolami 2015)."""
        from jax.scipy.linalg import solve_triangular

        jnp = self.jnp
        phi = self.unravel(params["phi"])
        z = params["z"]
        chol = self.scaled_chol(phi)
        b = z - self.jax.vmap(self.typical_z, in_axes=(None, 0))(phi, data["x"])[:, self.random]
        u = solve_triangular(chol, b.T, lower=True)
        log_prior_z = -0.5 * jnp.sum(u * u) - z.shape[0] * (jnp.sum(jnp.log(jnp.diagonal(chol)))
                                                            + 0.5 * self.n_re * math.log(2 * math.pi))
        loglik = self.jax.vmap(lambda zi, d: self.loglik(phi, self.theta_centred(phi, zi, d["x"]), d))(z, data)
        return -jnp.sum(loglik) - log_prior_z - self.log_prior(phi, consts)

    # ------------------------------------------------------------------ Laplace
    def _inner(self, phi, d, eta0):
        """Conditional mode η̂_i, g_i(η̂_i) and ∇²g_i(η̂_i) of one subject."""
        import optimistix as optx

        jax = self.jax
        sol = optx.minimise(lambda e, a: self.g(e, *a), optx.BFGS(rtol=INNER_TOL, atol=INNER_TOL), eta0,
                            args=(phi, d), max_steps=512, throw=False)
        eta = sol.value
        hess = jax.hessian(self.g)(eta, phi, d)
        ok = sol.result == optx.RESULTS.successful
        return eta, self.g(eta, phi, d), hess, ok

    def laplace_terms(self, phi, data, eta0):
        """Per subject: η̂_i, −log p(y_i | φ) under the Laplace approximation, H_i, convergence."""
        jnp = self.jnp
        eta, g, hess, ok = self.jax.vmap(self._inner, in_axes=(None, 0, 0))(phi, data, eta0)
        logdet = 2 * jnp.sum(jnp.log(jnp.diagonal(jnp.linalg.cholesky(hess), axis1=-2, axis2=-1)), axis=-1)
        return eta, g + 0.5 * logdet, hess, ok

    def laplace_objective(self, flat, data, consts, eta0):
        """−[log p(y | φ) + log p(φ)] (Laplace-approximated marginal posterior, up to a constant).

        Returns it with ``(η̂, H, converged)`` per subject; ``eta0`` starts the
        inner searches (the previous modes: a warm start).
        """
        phi = self.unravel(flat)
        eta, nll, hess, ok = self.laplace_terms(phi, data, self.jax.lax.stop_gradient(eta0))
        return self.jnp.sum(nll) - self.log_prior(phi, consts), (eta, hess, ok)

    def pooled_objective(self, flat, data, consts):
        """−log p(y, η = 0, φ): every subject at the typical values (the starting fit)."""
        phi = self.unravel(flat)
        eta = self.jnp.zeros((data["t"].shape[0], self.n_re))
        g = self.jax.vmap(self.g, in_axes=(0, None, 0))(eta, phi, data)
        return self.jnp.sum(g) - self.log_prior(phi, consts)

    @functools.cached_property
    def compiled(self):
        """The jitted functions: value and gradient of the two objectives, and the natural values."""
        jax = self.jax
        return {
            "pooled": jax.jit(jax.value_and_grad(self.pooled_objective)),
            "laplace": jax.jit(jax.value_and_grad(self.laplace_objective, has_aux=True)),
            "natural": jax.jit(jax.vmap(self.natural, in_axes=(0, 0, None, None))),
            "eta_of": jax.jit(jax.vmap(self.eta_of, in_axes=(0, 0, None))),
        }

    def natural(self, flat, eta, x, y_ref):
        """Typical values, ω, correlation, β, error parameters and individual θ ``(S, K)`` at (φ, η)."""
        jnp = self.jnp
        phi = self.unravel(flat)
        x0 = jnp.zeros(self.effect_map.shape[0])
        typical = self.theta(phi, jnp.zeros(self.n_re), x0)
        chol = self.chol(phi)
        return {
            "typical": typical,
            "omega": jnp.exp(phi["log_omega"]),
            "correlation": chol @ chol.T,
            "beta": phi["beta"],
            "error": self.error_parameters(phi, y_ref),
            "individual": self.jax.vmap(self.theta, in_axes=(None, 0, 0))(phi, eta, x),
        }


_PROBLEMS: dict[tuple, PopulationProblem] = {}


def problem_for(structure, transforms, random, correlated, error_model, effect_param, t_end,
                censored) -> PopulationProblem:
    """The (cached) problem of this static structure; data of the same shapes reuse its compiled functions."""
    key = (structure.key, transforms, tuple(random), bool(correlated), error_model, tuple(effect_param),
           t_end if isinstance(structure, ModelStructure) else None, bool(censored))
    if key not in _PROBLEMS:
        _PROBLEMS[key] = PopulationProblem(structure, transforms, tuple(random), correlated, error_model,
                                           tuple(effect_param), t_end, bool(censored))
    return _PROBLEMS[key]


# ---------------------------------------------------------------------- fitting
def fit_pooled(problem: PopulationProblem, data: dict, consts: dict, starts: list[np.ndarray]) -> dict:
    """The starting fit: typical values and error with every subject at η = 0, the best of trust-region runs
    from ``starts``; then ω = 0.3 and no correlation."""

    jnp = problem.jnp
    data = {k: jnp.asarray(v) for k, v in data.items()}
    consts = {k: jnp.asarray(v) for k, v in consts.items()}

    scale = _scale(data)

    def pooled(x):
        v, g = problem.compiled["pooled"](jnp.asarray(x), data, consts)
        v, g = float(v) * scale, np.asarray(g, float) * scale
        return (v, g) if math.isfinite(v) and np.all(np.isfinite(g)) else (PENALTY, np.zeros_like(g))

    box = _search_box(problem, consts)
    runs = [_trust_region(pooled, x0, box, 1e-8) for x0 in starts]
    best = min(runs, key=lambda r: r.fun)
    x = _reset_variability(problem, best.x)
    return {"x": x, "eta": np.zeros((data["t"].shape[0], problem.n_re)), "data": data, "consts": consts,
            "converged": bool(best.success)}


def fit_map(problem: PopulationProblem, start: dict, tol: float) -> dict:
    """The MAP of the Laplace-approximated marginal posterior of φ (trust region from the pooled fit)."""

    jnp = problem.jnp
    data, consts = start["data"], start["consts"]
    state = {"eta": jnp.asarray(start["eta"])}
    scale = _scale(data)

    def laplace(x):
        try:
            (v, (eta, _, _)), g = problem.compiled["laplace"](jnp.asarray(x), data, consts, state["eta"])
            v, g = float(v) * scale, np.asarray(g, float) * scale
        except (ValueError, RuntimeError):  # a non-finite inner solve far from the mode (lineax raises)
            return PENALTY, np.zeros_like(x)
        if not (math.isfinite(v) and np.all(np.isfinite(g))):
            return PENALTY, np.zeros_like(g)
        state["eta"] = eta
        return v, g

    res = _trust_region(laplace, start["x"], _search_box(problem, consts), tol)
    try:
        (value, (eta, hess, ok)), _ = problem.compiled["laplace"](jnp.asarray(res.x), data, consts, state["eta"])
        value = float(value)
    except (ValueError, RuntimeError):  # the warm start failed there: start the inner searches at η = 0
        (value, (eta, hess, ok)), _ = problem.compiled["laplace"](jnp.asarray(res.x), data, consts,
                                                                 jnp.zeros_like(state["eta"]))
    return {"x": np.asarray(res.x), "eta": np.asarray(eta), "hess": np.asarray(hess), "inner_ok": np.asarray(ok),
            "objective": float(value), "converged": bool(res.success) and bool(np.all(ok)), "result": res,
            "data": data, "consts": consts}


def _trust_region(fun, x0, box, tol):
    """Minimise ``fun`` (value and gradient) by a trust-region method with BFGS curvature within ``box``
    (SciPy ``trust-constr``): a rejected or non-finite trial point shrinks the region instead of ending
    the search, as a line search would."""
    lo, hi = (np.array(b) for b in zip(*box))
    with warnings.catch_warnings():  # a rejected (penalised) step leaves BFGS without an update: harmless
        warnings.filterwarnings("ignore", message="delta_grad == 0.0", category=UserWarning)
        return minimize(fun, np.clip(x0, lo, hi), jac=True, hess=BFGS(), method="trust-constr",
                        bounds=Bounds(lo, hi, keep_feasible=True),
                        options={"gtol": tol, "xtol": tol, "maxiter": 3000, "initial_tr_radius": 0.5})


def _scale(data: dict) -> float:
    """1/(number of observations): the searches minimise the mean, so that their first steps are O(1)."""
    return 1.0 / max(1, int(np.asarray(data["mask"]).sum()))


def _search_box(problem: PopulationProblem, consts: dict) -> list[tuple[float, float]]:
    """Bounds of the searches in φ, wide of any plausible estimate; they keep line searches where the inner
    modes exist: μ within 5 prior SDs of its centre, ω in [0.01, 5], |atanh ρ| ≤ 4, |β| ≤ 10, relative
    error SDs in [10⁻³, 10] (additive: times the SD of the data), any power exponent logit in [−8, 8]."""
    from jax.flatten_util import ravel_pytree

    mu_mean, mu_sd = np.asarray(consts["mu_mean"]), np.asarray(consts["mu_sd"])
    n_eff = problem.effect_map.shape[0]
    err_lo, err_hi = [], []
    for name in problem.error_names:
        kind = error_kind(name)
        shift = math.log(float(consts["additive_scale"])) if kind == "additive" else 0.0
        lo, hi = (-8.0, 8.0) if kind == "exponent" else (math.log(1e-3) + shift, math.log(10.0) + shift)
        err_lo.append(lo)
        err_hi.append(hi)
    box = [{"mu": mu_mean + sign * 5 * mu_sd, "log_omega": np.full(problem.n_re, math.log(w)),
            "corr": np.full(problem.n_corr, sign * 4.0), "beta": np.full(n_eff, sign * 10.0), "error": np.array(e)}
           for sign, w, e in ((-1, 0.01, err_lo), (1, 5.0, err_hi))]
    flat = [np.asarray(ravel_pytree({k: problem.jnp.asarray(v) for k, v in b.items()})[0]) for b in box]
    return list(zip(*flat))


def _reset_variability(problem: PopulationProblem, x: np.ndarray) -> np.ndarray:
    """φ with ω = 0.3 and no correlation: a start (IIV SDs of growth parameters are 0.2–0.75, MODEL_SPEC §1.3)."""
    phi = problem.unravel(problem.jnp.asarray(x))
    phi = {**phi, "log_omega": problem.jnp.full(problem.n_re, math.log(0.3)), "corr": phi["corr"] * 0}
    from jax.flatten_util import ravel_pytree

    return np.asarray(ravel_pytree(phi)[0])


def laplace_covariance(problem: PopulationProblem, fit: dict, step: float = 1e-5) -> np.ndarray:
    """Covariance of φ: the inverse of the central-difference Hessian of the exact gradient at the MAP."""
    jnp = problem.jnp
    value_and_grad = problem.compiled["laplace"]
    x = fit["x"]
    eta = jnp.asarray(fit["eta"])
    columns = []
    for k in range(x.size):
        h = step * max(1.0, abs(x[k]))
        e = np.zeros_like(x)
        e[k] = h
        up = np.asarray(value_and_grad(jnp.asarray(x + e), fit["data"], fit["consts"], eta)[1])
        down = np.asarray(value_and_grad(jnp.asarray(x - e), fit["data"], fit["consts"], eta)[1])
        columns.append((up - down) / (2 * h))
    hess = np.array(columns)
    hess = (hess + hess.T) / 2
    eig = np.linalg.eigvalsh(hess)
    if eig.min() <= 0:
        raise CalibrationError("the Hessian at the MAP is not positive definite (smallest eigenvalue "
                               f"{eig.min():.3g}): the posterior is not locally Gaussian there; use method='nuts'")
    return np.linalg.inv(hess)


def laplace_draws(fit: dict, cov: np.ndarray, n_draws: int, seed: int):
    """Draws of φ ~ N(φ̂, Σ), and of each η_i ~ N(η̂_i, H_i⁻¹) given φ̂ (the empirical-Bayes conditionals)."""
    rng = np.random.default_rng(seed)
    phi = rng.multivariate_normal(fit["x"], cov, size=n_draws, method="cholesky")
    chol = np.linalg.cholesky(fit["hess"])  # H = C Cᵀ; η̂ + C⁻ᵀ ε has covariance H⁻¹
    eps = rng.standard_normal((n_draws, *fit["eta"].shape))
    eta = fit["eta"] + np.linalg.solve(np.swapaxes(chol, -1, -2), eps[..., None])[..., 0]
    return phi, eta


def run_nuts(problem: PopulationProblem, fit: dict, *, num_chains: int, num_warmup: int, num_samples: int,
             target_accept_prob: float, chain_method: str, seed: int, init_jitter: float):
    """NUTS (NumPyro) on the centred −log p(y, z, φ), chains started around ``fit`` with ``init_jitter`` noise
    (on φ, and on η for the individual parameters z = m + C·η). The mass matrix is dense over φ (the typical values, ω,
    correlation and error parameters are correlated a posteriori) and diagonal over the random effects.
    Returns the draws of φ, the matching η = C⁻¹·b, and the divergence flags."""
    try:
        from numpyro.infer import MCMC, NUTS
    except ImportError:
        raise ImportError("method='nuts' needs NumPyro: pip install 'chemohost[fit]' (or use method='laplace')") \
            from None
    jax, jnp = problem.jax, problem.jnp
    data, consts = fit["data"], fit["consts"]
    rng = np.random.default_rng(seed)
    phi0 = jnp.asarray(fit["x"] + init_jitter * rng.standard_normal((num_chains, fit["x"].size)))
    eta0 = jnp.asarray(fit["eta"] + init_jitter * rng.standard_normal((num_chains, *fit["eta"].shape)))

    def centred(flat, eta):  # z_i = m_i + C·η_i
        phi = problem.unravel(flat)
        m = jax.vmap(problem.typical_z, in_axes=(None, 0))(phi, data["x"])[:, problem.random]
        return m + eta @ problem.scaled_chol(phi).T

    z0 = jax.vmap(centred)(phi0, eta0)
    kernel = NUTS(potential_fn=lambda p: problem.potential(p, data, consts), target_accept_prob=target_accept_prob,
                  dense_mass=[("phi",)])
    mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                chain_method=chain_method, progress_bar=False)
    mcmc.run(jax.random.PRNGKey(seed), init_params={"phi": phi0, "z": z0}, extra_fields=("diverging",))
    samples = mcmc.get_samples(group_by_chain=True)
    diverging = np.asarray(mcmc.get_extra_fields(group_by_chain=True)["diverging"])
    phi, z = np.asarray(samples["phi"]), np.asarray(samples["z"])
    c, d = phi.shape[:2]
    eta = np.asarray(problem.compiled["eta_of"](phi.reshape(c * d, -1), z.reshape(c * d, *z.shape[2:]), data["x"]))
    return phi, eta.reshape(z.shape), diverging
