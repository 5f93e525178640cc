"""Dosing rules that react to each patient: adaptive therapy, dose modulation, toxicity rules.

A rule is evaluated per patient inside a batch at *visits*: the times at which
a dose of one of its agents is due, plus an optional regular monitoring grid.
At a due dose a rule returns, per patient, a factor on the dose (0 holds it)
and a delay [day] (the dose and all later doses of the rule's agents move by
it and are decided again then). :func:`chemohost.simulate` integrates the batch
between visits and applies the decisions, so a patient's course depends on its
own states only: a patient in a batch follows exactly the course it follows
alone.

    >>> rule = AdaptiveTherapy(stop_below=0.5, resume_above=1.0)
    >>> ds = simulate(model, "paclitaxel 10 mg/kg iv q1d x60", params, times, rules=[rule])  # doctest: +SKIP
    >>> ds["Dose amount [mg]"].sum("dose")                                               # doctest: +SKIP

Rules read model quantities by name (a state or an output); the visits and
decisions are recorded in the result (``Dose time [day]``, ``Dose factor [-]``,
``Dose amount [mg]``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._errors import ChemohostError, clip, quote, unknown

__all__ = ["RULES", "AdaptiveTherapy", "DoseModulation", "ResectionAtSize", "Rule", "ToxicityRule", "parse_rule",
           "parse_rules"]

TUMOUR_VOLUME = "Tumour volume [mm3]"
NEUTROPHILS = "Circulating neutrophils [1e9/L]"


def _positive(name: str, value, allow_zero=False) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ChemohostError(f"{name} must be a number, got {quote(value)}") from None
    if not (value > 0 or (allow_zero and value == 0)) or not np.isfinite(value):
        raise ChemohostError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number, got {value!r}")
    return value


class Rule:
    """Base class. Subclasses set ``observable`` and override :meth:`monitor` and :meth:`decide`."""

    agents: tuple[str, ...] | None = None
    """Agents whose doses the rule decides (``None``: every drug of the regimen that is not a blocker)."""
    observable: str | None = None
    """The model quantity (state or output) the rule reads."""
    every: float | None = None
    """Days between monitoring visits (``None``: visits only when a dose is due)."""

    @property
    def observables(self) -> tuple[str, ...]:
        return () if self.observable is None else (self.observable,)

    def visits(self, t0: float, t_end: float) -> np.ndarray:
        if self.every is None:
            return np.zeros(0)
        return np.arange(t0, t_end + 1e-9, self.every)

    def start(self, n: int) -> dict[str, np.ndarray]:
        """The rule's per-patient memory."""
        return {}

    def monitor(self, t: float, obs: dict[str, np.ndarray], memory: dict[str, np.ndarray]):
        """Update ``memory`` at a visit; may return procedure events ``[(kind, state, values)]`` to apply now."""
        return None

    def decide(self, t: float, obs: dict[str, np.ndarray], memory: dict[str, np.ndarray], due: np.ndarray):
        """Factor on and delay [day] of the doses due now, per patient (only ``due`` rows are used)."""
        n = due.size
        return np.ones(n), np.zeros(n)


@dataclass(frozen=True)
class AdaptiveTherapy(Rule):
    """Treat until the burden falls to ``stop_below`` × baseline; hold until it regrows to ``resume_above`` × baseline.

    The baseline is the burden at the first visit (before the first dose).
    The burden is assessed at every visit (each due dose, and every ``every``
    days when given); a held dose is skipped, not postponed. This is the
    generic chemotherapy form of the Zhang et al. 2017 protocol (stop at 50% of
    the pre-treatment PSA, resume at baseline; MODEL_SPEC §4.4).
    """

    stop_below: float = 0.5
    resume_above: float = 1.0
    observable: str = TUMOUR_VOLUME
    every: float | None = None
    agents: tuple[str, ...] | None = None

    def __post_init__(self):
        _positive("stop_below", self.stop_below)
        _positive("resume_above", self.resume_above)
        if self.resume_above < self.stop_below:
            raise ChemohostError(f"resume_above ({self.resume_above}) must not be below stop_below ({self.stop_below})")
        if self.every is not None:
            _positive("every", self.every)

    def start(self, n):
        return {"baseline": np.full(n, np.nan), "on": np.ones(n, bool)}

    def monitor(self, t, obs, memory):
        burden, baseline, on = obs[self.observable], memory["baseline"], memory["on"]
        first = np.isnan(baseline)
        baseline[first] = burden[first]
        on[on & (burden <= self.stop_below * baseline)] = False
        on[~on & (burden >= self.resume_above * baseline)] = True

    def decide(self, t, obs, memory, due):
        self.monitor(t, obs, memory)
        return memory["on"].astype(float), np.zeros(due.size)

    def __str__(self):
        return f"adaptive therapy: stop below {self.stop_below:g}x, resume above {self.resume_above:g}x baseline " \
               f"{self.observable}"


@dataclass(frozen=True)
class DoseModulation(Rule):
    """Dose × (1 + step) after growth of more than ``threshold`` since the last visit, × (1 − step) after a
    fall of more than ``threshold``, within [``minimum``, ``maximum``] × the planned dose; a level below
    ``minimum`` skips the dose (the dose-modulation variant of adaptive therapy, MODEL_SPEC §4.4)."""

    step: float = 0.5
    threshold: float = 0.1
    minimum: float = 0.25
    maximum: float = 2.0
    observable: str = TUMOUR_VOLUME
    agents: tuple[str, ...] | None = None

    def __post_init__(self):
        _positive("step", self.step)
        _positive("threshold", self.threshold, allow_zero=True)
        _positive("maximum", self.maximum)
        if not 0 <= self.minimum <= 1 <= self.maximum:
            raise ChemohostError(f"need 0 <= minimum <= 1 <= maximum, got {self.minimum}, {self.maximum}")

    def start(self, n):
        return {"last": np.full(n, np.nan), "level": np.ones(n)}

    def decide(self, t, obs, memory, due):
        burden, last, level = obs[self.observable], memory["last"], memory["level"]
        with np.errstate(invalid="ignore", divide="ignore"):
            change = burden / last - 1.0
        up, down = due & (change > self.threshold), due & (change < -self.threshold)
        level[up] *= 1 + self.step
        level[down] *= 1 - self.step
        np.clip(level, 0.0, self.maximum, out=level)
        last[due] = burden[due]
        return np.where(level < self.minimum, 0.0, level), np.zeros(due.size)

    def __str__(self):
        return f"dose modulation: x(1 +/- {self.step:g}) on a change of more than {100 * self.threshold:g}%"


@dataclass(frozen=True)
class ToxicityRule(Rule):
    """Delay (or reduce) a dose when the neutrophil count on its day is below ``proceed_above``; reduce all later
    doses by ``grade4_reduction`` after grade-4 neutropenia (ANC < 0.5) lasting ``grade4_days`` or more.

    Defaults follow MODEL_SPEC §8.4 (CTCAE v5 practice [U]): proceed if ANC ≥ 1.5·10⁹/L
    on day 1, otherwise postpone by a week; reduce by 25% after grade-4 neutropenia
    of ≥ 7 days. Counts are monitored every ``every`` days to catch the nadir.
    """

    proceed_above: float = 1.5
    action: str = "delay"
    delay: float = 7.0
    reduction: float = 0.25
    grade4_below: float = 0.5
    grade4_days: float = 7.0
    grade4_reduction: float = 0.25
    every: float | None = 1.0
    observable: str = NEUTROPHILS
    agents: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.action not in ("delay", "reduce"):
            raise ChemohostError(f"toxicity rule action must be 'delay' or 'reduce', got {self.action!r}")
        _positive("proceed_above", self.proceed_above)
        _positive("delay", self.delay)
        _positive("grade4_days", self.grade4_days, allow_zero=True)
        for name in ("reduction", "grade4_reduction"):
            if not 0 <= getattr(self, name) < 1:
                raise ChemohostError(f"{name} must be a fraction in [0, 1), got {getattr(self, name)!r}")
        if self.every is not None:
            _positive("every", self.every)

    def start(self, n):
        return {"level": np.ones(n), "low_since": np.full(n, np.nan), "counted": np.zeros(n, bool),
                "grade4": np.zeros(n, bool)}

    def monitor(self, t, obs, memory):
        """Flag each episode of grade-4 neutropenia lasting ``grade4_days`` once."""
        anc, since, counted = obs[self.observable], memory["low_since"], memory["counted"]
        low = anc < self.grade4_below
        since[low & np.isnan(since)] = t
        since[~low] = np.nan
        counted[~low] = False
        new = low & ~counted & (t - since >= self.grade4_days - 1e-9)
        counted |= new
        memory["grade4"] |= new

    def decide(self, t, obs, memory, due):
        self.monitor(t, obs, memory)
        level, grade4 = memory["level"], memory["grade4"]
        cut = due & grade4
        level[cut] *= 1 - self.grade4_reduction
        grade4[cut] = False
        low = due & (obs[self.observable] < self.proceed_above)
        delay = np.zeros(due.size)
        if self.action == "delay":
            delay[low] = self.delay
        else:
            level[low] *= 1 - self.reduction
        return level.copy(), delay

    def __str__(self):
        act = f"delay {self.delay:g} d" if self.action == "delay" else f"reduce {100 * self.reduction:g}%"
        return (f"toxicity: {act} if ANC < {self.proceed_above:g} on the dose day; -{100 * self.grade4_reduction:g}% "
                f"after grade-4 neutropenia >= {self.grade4_days:g} d")


@dataclass(frozen=True)
class ResectionAtSize(Rule):
    """Resect the primary when its volume reaches ``volume`` [mm3] at a monitoring visit (every ``every`` days),
    leaving the fraction ``residual`` of it."""

    volume: float = 500.0
    every: float | None = 1.0
    residual: float = 0.0
    observable: str = TUMOUR_VOLUME
    agents: tuple[str, ...] | None = ()

    def __post_init__(self):
        _positive("volume", self.volume)
        _positive("every", self.every)
        if not 0 <= self.residual < 1:
            raise ChemohostError(f"residual must be a fraction in [0, 1), got {self.residual!r}")

    def start(self, n):
        return {"resected": np.zeros(n, bool), "day": np.full(n, np.nan)}

    def monitor(self, t, obs, memory):
        now = ~memory["resected"] & (obs[self.observable] >= self.volume)
        memory["resected"] |= now
        memory["day"][now] = t
        return [("resect", None, np.where(now, self.residual, 1.0))] if now.any() else None

    def __str__(self):
        return f"resection when the primary reaches {self.volume:g} mm3"


RULES = {"adaptive": AdaptiveTherapy, "dose_modulation": DoseModulation, "toxicity": ToxicityRule,
         "resection_at_size": ResectionAtSize}
"""Rule names accepted in study files (``rules: [{adaptive: {stop_below: 0.5}}]``)."""


def parse_rule(spec) -> Rule:
    """A rule from an object or a one-key mapping ``{name: {fields}}`` (names: see :data:`RULES`)."""
    if isinstance(spec, Rule):
        return spec
    if not (isinstance(spec, dict) and len(spec) == 1):
        raise ChemohostError(f"a rule is a one-key mapping such as {{'adaptive': {{'stop_below': 0.5}}}}, got "
                             f"{quote(spec)}")
    (name, fields), = spec.items()
    if name not in RULES:
        raise ChemohostError(unknown("rule", clip(str(name)), list(RULES)))
    if not isinstance(fields, (dict, type(None))):
        raise ChemohostError(f"rule '{name}' takes a mapping of settings such as {{'stop_below': 0.5}} (or nothing), "
                             f"got {quote(fields)}")
    fields = dict(fields or {})
    if "agents" in fields and fields["agents"] is not None:
        agents = fields["agents"]
        agents = [agents] if isinstance(agents, str) else agents
        if not (isinstance(agents, (list, tuple)) and all(isinstance(a, str) for a in agents)):
            raise ChemohostError(f"rule '{name}': agents must be an agent name or a list of them, got "
                                 f"{quote(fields['agents'])}")
        fields["agents"] = tuple(agents)
    allowed = [f for f in RULES[name].__dataclass_fields__]
    for key in fields:
        if key not in allowed:
            raise ChemohostError(f"rule '{name}': " + unknown("field", clip(str(key)), allowed))
    try:
        return RULES[name](**fields)
    except (TypeError, ValueError) as err:
        raise ChemohostError(f"rule '{name}': {clip(str(err))}") from None


def parse_rules(specs) -> tuple[Rule, ...]:
    """Rules from a list of specs (see :func:`parse_rule`); ``None`` gives none."""
    if isinstance(specs, (dict, Rule)):
        specs = [specs]
    return tuple(parse_rule(s) for s in (specs or ()))
