"""Size-structured metastasis computed by emission-time cohorts (Iwata 2000; Benzekry 2016; MODEL_SPEC §7)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import sympy

from ..._errors import OptionError, unknown
from ...limits import MAX_METASTASIS_COHORTS as MAX_COHORTS
from ...core import (Declaration, Input, Mechanism, Q, ResultStack, State, TimedInput, get_mechanism,
                     register_mechanism)
from ...quantities import (CELLS_PER_MM3, DISSEMINATION_RATE, IL1_SIGNALLING, INOCULUM, KILL_HAZARD, METASTASES,
                           METASTATIC_BURDEN, MMP9_ACTIVITY, MYELOID, PERMEABILITY, PROTECTION, REPOPULATION,
                           SEEDING_RATE, VIABLE_VOLUME, effector)
from .._defaults import declared

__all__ = ["CohortGrid", "EmissionCohorts", "COHORT_COUNTS", "COHORT_LOG_SIZES", "COUPLINGS", "DEFAULT_COHORTS",
           "DEFAULT_HORIZON"]

METASTASIS_SETS = ("Benzekry2016", "MetastasisHost")
COUPLINGS = ("dissemination", "colonisation", "growth")
DEFAULT_COHORTS = 24
DEFAULT_HORIZON = 48.0
COHORT_COUNTS = "Metastases per cohort [-]"
"""Results variable of the cohorts' metastasis counts n_k, dims (…, time, cohort)."""
COHORT_LOG_SIZES = "Metastasis log-size per cohort [ln(cell)]"
"""Results variable of the cohorts' log-sizes y_k = ln v_k (v_k in cells), dims (…, time, cohort)."""
INITIAL_SIZE = 1.0
"""Cells a metastasis is founded by (Iwata 2000; Benzekry 2016: metastases grow from one cell)."""
HOST = {"effectors": "indirect_response", "host_cells": "bmdc"}
SECONDARY_RATE = "Secondary metastatic dissemination rate [1/day]"
ESTABLISHMENT_RATE = "Inoculated-cell establishment rate [1/day]"
COLONISATION_PROBABILITY = "Colonisation probability [-]"
DISSEMINATION_FACTOR = "Dissemination host factor [-]"
COLONISATION_FACTOR = "Colonisation host factor [-]"


@dataclass(frozen=True)
class CohortGrid:
    """The emission-time windows of the cohorts and the names of their states and switches.

    Window k is [e_k, e_{k+1}) with e_k = k·H/K (k = 0 … K − 1, H the horizon [day],
    K the number of cohorts); the last window stays open after H. Cohort k's
    metastases all start growing at the window's midpoint s_k.
    """

    cohorts: int = DEFAULT_COHORTS
    horizon: float = DEFAULT_HORIZON

    @cached_property
    def edges(self) -> np.ndarray:
        """Window boundaries e_0 = 0 … e_K = H [day]."""
        return np.linspace(0.0, self.horizon, self.cohorts + 1)

    @cached_property
    def births(self) -> np.ndarray:
        """Times s_k [day] at which cohort k starts growing (window midpoints)."""
        return 0.5 * (self.edges[:-1] + self.edges[1:])

    def count(self, k: int) -> str:
        return f"Metastases of cohort {k + 1} [-]"

    def log_size(self, k: int) -> str:
        """Name of cohort k's log-size state ln v_k (v_k in cells)."""
        return f"Metastasis log-size in cohort {k + 1} [ln(cell)]"

    def window(self, k: int) -> str:
        return f"Cohort {k + 1} emission window [-]"

    def growing(self, k: int) -> str:
        return f"Cohort {k + 1} growth switch [-]"

    @property
    def count_names(self) -> list[str]:
        return [self.count(k) for k in range(self.cohorts)]

    @property
    def log_size_names(self) -> list[str]:
        return [self.log_size(k) for k in range(self.cohorts)]

    def stacks(self) -> tuple[ResultStack, ResultStack]:
        """How results hold the cohort states: :data:`COHORT_COUNTS` and :data:`COHORT_LOG_SIZES` along a
        ``cohort`` dimension (labels 1 … K) with each cohort's birth day and emission window as coordinates."""
        day = {"units": "day"}
        coords = (("cohort_birth", tuple(self.births), {**day, "description": "day the cohort starts growing"}),
                  ("cohort_emission_start", tuple(self.edges[:-1]),
                   {**day, "description": "start of the cohort's emission window"}),
                  ("cohort_emission_end", (*self.edges[1:-1], math.inf),
                   {**day, "description": "end of the cohort's emission window (the last stays open)"}))
        labels = tuple(range(1, self.cohorts + 1))
        return (ResultStack(COHORT_COUNTS, "cohort", tuple(self.count_names), labels, coords,
                            "metastases emitted in each cohort's window"),
                ResultStack(COHORT_LOG_SIZES, "cohort", tuple(self.log_size_names), labels, coords,
                            "log of the cells per metastasis of each cohort"))

    @classmethod
    def of(cls, options: dict[str, Any]) -> CohortGrid | None:
        """The grid of a model with validated ``options`` (``None`` without ``metastasis: cohorts``)."""
        value = options.get("metastasis")
        if value is None or (value if isinstance(value, str) else value.get("name")) != EmissionCohorts.name:
            return None
        settings = {} if isinstance(value, str) else value
        return cls(int(settings.get("cohorts", DEFAULT_COHORTS)), float(settings.get("horizon", DEFAULT_HORIZON)))


def _choice(value) -> tuple[str | None, dict]:
    if value is None or isinstance(value, str):
        return value, {}
    return value.get("name"), {k: v for k, v in value.items() if k != "name"}


@register_mechanism
class EmissionCohorts(Mechanism):
    r"""Size-structured metastases (Iwata 2000; Benzekry 2016), integrated as cohorts by emission time.

    The density ρ(t, v) of metastases of size v [cell] obeys ∂ρ/∂t + ∂(g·ρ)/∂v = 0
    with influx at one cell of S(t) new metastases per day,
    S = μ·F_μ·F_c·[(c·V_p)^γ + Σ_k n_k·v_k^γ] + k_c·p_col·I,
    where V_p [mm3] is the viable primary (c = 10⁶ cells/mm³), μ [cell^-γ/day] and γ
    the dissemination coefficient and exponent (Iwata's β(x) = m·x^α), the sum the
    optional secondary seeding from metastases, and I [cell] tumour cells injected
    i.v. that arrest and either establish (probability p_col) or die at rate k_c:
    dI/dt = −k_c·I. Emission in window k (w_k = 1 on [e_k, e_{k+1})) founds
    dn_k/dt = w_k·S metastases, all of size v_k = e^{y_k} [cell], which starts growing at
    the window's midpoint s_k (switch θ_k from 0 to 1):
    dy_k/dt = θ_k·[r(v_k/c)·(1 + b) − h·(1 − P)], y_k(0) = 0 (one cell),
    with r the growth law's per-capita rate (the primary's by default), h the summed
    drug kill hazard, and b and P the repopulation boost and protection homed myeloid
    cells give the primary (``growth`` coupling: metastases receive homed BMDCs too,
    MODEL_SPEC §7.3). N = Σ n_k metastases, burden Σ n_k·v_k [cell]. The log-size
    makes a Gompertz rate linear in the state (no logarithm per cohort and step).

    Host facilitation (MODEL_SPEC §7.3; with ``effectors`` and ``host_cells``), log-linear
    in each signal's excess so that a factor stays positive (to first order the linear
    forms 1 + ε·(X − 1) of §5.2): dissemination
    F_μ = φ_perm·e^{ε_μ·(M_m^{act} − 1) + ε_I·(I_1^{act} − 1)} (MMP-9 and IL-1β from
    paclitaxel-treated macrophages make tumour cells invasive, leaky vessels let more
    out; φ_perm from ``host_cells``); colonisation
    F_c = e^{ε_c·(E_v − 1) + ε_M·(M_c − 1) + ε_{Mc}·(M_m^{act} − 1)} (EV-conditioned niche,
    circulating myeloid cells and MMP-9 help arrested cells establish; the MMP-9 term
    lets an MMP-9 inhibitor act on i.v. inoculated cells, Gingis-Velitski 2011).
    Inoculated cells establish with p_col = p_0·F_c/(1 + p_0·(F_c − 1))
    (the host multiplies the odds, so p_col stays below 1). Windows open from day 0;
    emission after the horizon H joins the last window, whose metastases were born at
    its midpoint (choose H ≥ the simulated time). A Norton–Simon kill hazard reads the
    primary's growth rate, not each metastasis' own.

    Numerics: n_k is exact (the ODE solver integrates S) and so is y_k for a metastasis
    emitted at s_k; putting all of window k's metastases at s_k is the midpoint rule in
    emission time, so the burden (and, with secondary seeding, the counts) converge with
    order 2 in the window width H/K. :func:`chemohost.metastasis.number_above` interpolates
    the exact samples between cohorts (order ≥ 3 in tests/test_metastasis.py).
    """

    family = "metastasis"
    name = "cohorts"
    citations = ("Iwata2000", "Benzekry2016")
    uses_options = True

    def __init__(self, species: str = "mouse", model_options: dict | None = None, cohorts: int = DEFAULT_COHORTS,
                 horizon: float = DEFAULT_HORIZON, growth: str = "primary", secondary: bool = False,
                 couplings=None):
        options = model_options or {}
        if isinstance(cohorts, bool) or not isinstance(cohorts, (int, np.integer)) or not 1 <= cohorts <= MAX_COHORTS:
            raise OptionError(f"metastasis: cohorts must be a whole number from 1 to {MAX_COHORTS} "
                              f"(chemohost.limits.MAX_METASTASIS_COHORTS), got {str(cohorts)[:40]}")
        try:
            horizon = float(horizon)
        except (TypeError, ValueError):
            horizon = math.nan
        if not (math.isfinite(horizon) and horizon > 0):
            raise OptionError(f"metastasis: horizon must be a positive number of days, got {horizon!r}")
        if not isinstance(secondary, bool):
            raise OptionError(f"metastasis: secondary must be true or false, got {secondary!r}")
        law, law_settings = self._growth_law(growth, options)
        host = all(_choice(options.get(k))[0] == v for k, v in HOST.items())
        if couplings is None:
            couplings = COUPLINGS if host else ("growth",)
        couplings = (couplings,) if isinstance(couplings, str) else tuple(couplings)
        for c in couplings:
            if c not in COUPLINGS:
                raise OptionError("metastasis: " + unknown("coupling", c, COUPLINGS))
            if c != "growth" and not host:
                raise OptionError(f"metastasis: the '{c}' coupling reads the host response; add effectors: "
                                  "indirect_response and host_cells: bmdc to the model options")
        host_cells = _choice(options.get("host_cells"))[1].get("couplings", ("permeability",))
        self._permeability = "dissemination" in couplings and "permeability" in host_cells
        self._law_settings = law_settings
        super().__init__(species=species, cohorts=int(cohorts), horizon=horizon, growth=law, secondary=secondary,
                         couplings=tuple(c for c in COUPLINGS if c in couplings))

    @staticmethod
    def _growth_law(growth, options) -> tuple[str, dict]:
        name, settings = _choice(growth)
        if name == "primary":
            name, settings = _choice(options.get("growth", "gompertz"))
            if name == "none":
                raise OptionError("metastasis: the primary does not grow (growth: none); give the metastases a growth "
                                  "law, e.g. metastasis: {name: cohorts, growth: gompertz}")
        if not isinstance(name, str):
            raise OptionError(f"metastasis: growth must name a growth law (or 'primary'), got {growth!r}")
        try:
            get_mechanism("growth", name)
        except OptionError as exc:
            raise OptionError(f"metastasis: growth: {exc}") from None
        return name, settings

    @property
    def grid(self) -> CohortGrid:
        return CohortGrid(self.settings["cohorts"], self.settings["horizon"])

    def result_stacks(self) -> tuple[ResultStack, ...]:
        return self.grid.stacks()

    def _rate(self, log_size: sympy.Symbol) -> tuple[sympy.Expr, list]:
        """Per-capita growth rate [1/day] of a metastasis of ``exp(log_size)`` cells and the law's parameters.

        Logarithms of the size are expanded, so a Gompertz rate is linear in the log-size.
        """
        law = get_mechanism("growth", self.settings["growth"])(species=self.settings["species"], **self._law_settings)
        params = law.parameters()
        volume = sympy.exp(log_size) / CELLS_PER_MM3
        rate = sympy.expand_log(sympy.sympify(law.rate(volume, {p.symbol: p.sym for p in params})), force=True)
        foreign = {s.name for s in rate.free_symbols} - {p.name for p in params} - {log_size.name}
        if foreign:
            raise OptionError(f"metastasis: growth law '{law.name}' reads {sorted(foreign)}, which belong to the "
                              "primary; give the metastases a law of their own size, e.g. growth: gompertz")
        return rate, params

    def declare(self) -> Declaration:
        grid, species = self.grid, self.settings["species"]
        couplings = self.settings["couplings"]
        decl = Declaration()

        def par(name, symbol, description, bounds=(0.0, math.inf)):
            p = declared(name, symbol, sets=METASTASIS_SETS, species=species, bounds=bounds, description=description)
            decl.parameters.append(p)
            return p.sym

        mu = par("Metastatic dissemination coefficient [cell^(-gamma)/day]", r"\mu",
                 "new metastases per day per primary cell^γ")
        gamma = par("Metastatic dissemination exponent [-]", r"\gamma",
                    "how dissemination scales with primary size (1: per cell; 2/3: per surface cell)",
                    bounds=(0.0, 2.0))
        k_c = par("Inoculated-cell arrest rate [1/day]", "k_c",
                  "rate at which injected cells leave the circulation, to establish or die")
        p_0 = par("Inoculated-cell establishment probability [-]", "p_0",
                  "chance that an arrested cell founds a metastasis in an untreated host", bounds=(0.0, 1.0))

        f_mu = f_c = sympy.Integer(1)
        Mm = Q(MMP9_ACTIVITY)
        if "dissemination" in couplings:
            e_mu = par("MMP-9 dissemination gain [-]", r"\varepsilon_\mu",
                       "log-rise of dissemination per unit MMP-9 excess")
            e_i = par("IL-1 dissemination gain [-]", r"\varepsilon_I", "log-rise of dissemination per unit IL-1 excess")
            perm = Q(PERMEABILITY) if self._permeability else 1
            decl.variables[DISSEMINATION_FACTOR] = perm * sympy.exp(e_mu * (Mm - 1) + e_i * (Q(IL1_SIGNALLING) - 1))
            decl.symbols[DISSEMINATION_FACTOR] = r"F_\mu"
            f_mu = Q(DISSEMINATION_FACTOR)
        if "colonisation" in couplings:
            e_c = par("EV colonisation gain [-]", r"\varepsilon_c", "log-rise of colonisation per unit EV-signal excess")
            e_m = par("Myeloid colonisation gain [-]", r"\varepsilon_M",
                      "log-rise of colonisation per unit circulating-myeloid excess")
            e_mc = par("MMP-9 colonisation gain [-]", r"\varepsilon_{Mc}",
                       "log-rise of colonisation per unit MMP-9 excess")
            decl.variables[COLONISATION_FACTOR] = sympy.exp(e_c * (Q(effector("EV niche signal")) - 1)
                                                            + e_m * (Q(MYELOID) - 1) + e_mc * (Mm - 1))
            decl.symbols[COLONISATION_FACTOR] = r"F_c"
            f_c = Q(COLONISATION_FACTOR)

        log_size = sympy.Symbol("y", real=True)
        size_rate, law_params = self._rate(log_size)
        decl.parameters += law_params
        boost, protection = (Q(REPOPULATION), Q(PROTECTION)) if "growth" in couplings else (0, 0)
        inoculum = State(INOCULUM, r"I_{inoc}", 0.0, "injected tumour cells still circulating or arrested")
        decl.states.append(inoculum)
        decl.rhs[inoculum.name] = -k_c * inoculum.sym
        counts, log_sizes = [], []
        for k in range(grid.cohorts):
            n = State(grid.count(k), f"n_{{{k + 1}}}", 0.0, f"metastases emitted in window {k + 1}")
            y = State(grid.log_size(k), f"y_{{{k + 1}}}", math.log(INITIAL_SIZE),
                      f"log of the cells per metastasis of cohort {k + 1}", nonnegative=False)
            w = Input(grid.window(k), f"w_{{{k + 1}}}", f"1 while window {k + 1} collects new metastases")
            theta = Input(grid.growing(k), rf"\theta_{{{k + 1}}}", f"1 once cohort {k + 1} grows")
            decl.states += [n, y]
            decl.inputs += [w, theta]
            rate = size_rate.xreplace({log_size: y.sym})
            decl.rhs[n.name] = w.sym * Q(SEEDING_RATE)
            decl.rhs[y.name] = theta.sym * (rate * (1 + boost) - Q(KILL_HAZARD) * (1 - protection))
            decl.timed_inputs.append(TimedInput(w.name, float(grid.edges[k]), 1.0))
            if k + 1 < grid.cohorts:
                decl.timed_inputs.append(TimedInput(w.name, float(grid.edges[k + 1]), -1.0))
            decl.timed_inputs.append(TimedInput(theta.name, float(grid.births[k]), 1.0))
            counts.append(n.sym)
            log_sizes.append(y.sym)

        host = f_mu * f_c
        decl.variables[DISSEMINATION_RATE] = mu * host * (CELLS_PER_MM3 * Q(VIABLE_VOLUME)) ** gamma
        seeding = Q(DISSEMINATION_RATE)
        if self.settings["secondary"]:
            secondary = sympy.Add(*(n * sympy.exp(gamma * y) for n, y in zip(counts, log_sizes)))
            decl.variables[SECONDARY_RATE] = mu * host * secondary
            decl.symbols[SECONDARY_RATE] = r"d_{sec}"
            seeding += Q(SECONDARY_RATE)
        decl.variables[COLONISATION_PROBABILITY] = p_0 * f_c / (1 + p_0 * (f_c - 1))
        decl.variables[ESTABLISHMENT_RATE] = k_c * Q(COLONISATION_PROBABILITY) * inoculum.sym
        decl.variables[SEEDING_RATE] = seeding + Q(ESTABLISHMENT_RATE)
        decl.variables[METASTASES] = sympy.Add(*counts)
        decl.variables[METASTATIC_BURDEN] = sympy.Add(*(n * sympy.exp(y) for n, y in zip(counts, log_sizes)))
        decl.symbols.update({DISSEMINATION_RATE: "d", COLONISATION_PROBABILITY: r"p_{col}", SEEDING_RATE: "S",
                             ESTABLISHMENT_RATE: r"e_{inoc}", METASTASES: r"N_{met}", METASTATIC_BURDEN: r"M_{met}"})
        return decl
