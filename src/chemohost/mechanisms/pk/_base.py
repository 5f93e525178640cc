"""Linear mammillary PK with optional first-order absorption and saturable elimination."""

from __future__ import annotations

from typing import ClassVar

from ...core import Declaration, DoseTarget, Input, Mechanism, Parameter, State
from ...drugs import get_drug
from ...quantities import plasma, plasma_molar
from .._defaults import declared

NG_PER_ML_PER_MG_PER_L = 1000.0


class Compartmental(Mechanism):
    r"""Amounts A1 (central), A2, A3 (peripheral) and an optional depot Ad, in mg.

    dA1/dt = u(t) + F·ka·Ad − E(C) − (Q2/V1)·A1 + (Q2/V2)·A2 − (Q3/V1)·A1 + (Q3/V3)·A3,
    C = 1000·A1/V1 [ng/mL] with E(C) = CL·A1/V1 (linear) or Vmax·C/(Km + C)
    (saturable). Bolus doses are events that add to A1 (i.v.) or Ad
    (oral/i.p./s.c., times the route's bioavailability); infusions and
    continuous dosing are piecewise-constant inputs u(t).
    """

    family: ClassVar[str] = "pk"
    per_drug: ClassVar[bool] = True
    compartments: ClassVar[int]
    citations = ()

    def __init__(self, drug: str, species: str = "mouse", elimination: str = "linear",
                 extravascular: tuple[str, ...] = ()):
        super().__init__(drug=drug, species=species, elimination=elimination, extravascular=tuple(extravascular))

    def declare(self) -> Declaration:
        drug = get_drug(self.settings["drug"])
        species = self.settings["species"]
        sets = [drug.pk_parameter_set_name(species)] if drug.pk_parameter_set_name(species) else []
        D, key, sub = drug.display_name, drug.key, drug.symbol

        def par(label: str, symbol: str, description: str, bounds=(0.0, float("inf"))):
            base, _, index = symbol.partition("_")
            index = index.strip("{}")
            latex = f"{base}_{{{index},{sub}}}" if index else f"{base}_{{{sub}}}"
            return declared(f"{D} {label}", latex, sets=sets, species=species, bounds=bounds,
                            description=description)

        v1 = par("central volume [L]", "V_1", "volume of the central (plasma) compartment")
        a1 = State(f"{D} central amount [mg]", f"A_{{1,{sub}}}", 0.0, f"{key} in the central compartment")
        conc = plasma(key)
        C = 1000 * a1.sym / v1.sym
        mw = par("molecular weight [g/mol]", "M", "molar mass")
        if mw.required:  # the library's molecular weight when the PK set does not give one
            lib = drug.molecular_weight
            mw = Parameter(mw.name, mw.symbol, lib.value, f"drug library: {lib.source}", lib.tag, mw.bounds,
                           mw.description, lib.citation)
        states, params = [a1], [v1, mw]
        rhs = {a1.name: 0}
        if self.settings["elimination"] == "linear":
            cl = par("clearance [L/day]", "CL", "linear clearance from the central compartment")
            params.append(cl)
            rhs[a1.name] -= cl.sym / v1.sym * a1.sym
        else:
            vmax = par("maximal elimination rate [mg/day]", r"V_{max}", "capacity of saturable elimination")
            km = par("Michaelis constant [ng/mL]", "K_m", "concentration of half-maximal elimination")
            params += [vmax, km]
            rhs[a1.name] -= vmax.sym * C / (km.sym + C)
        for index in range(2, self.compartments + 1):
            label = "" if index == 2 else "second "
            q = par(f"{label}intercompartmental clearance [L/day]", f"Q_{index}", f"exchange with peripheral {index - 1}")
            v = par(f"{label}peripheral volume [L]", f"V_{index}", f"volume of peripheral compartment {index - 1}")
            a = State(f"{D} {label}peripheral amount [mg]", f"A_{{{index},{sub}}}", 0.0,
                      f"{key} in peripheral compartment {index - 1}")
            flow = q.sym / v1.sym * a1.sym - q.sym / v.sym * a.sym
            rhs[a1.name] -= flow
            rhs[a.name] = flow
            states.append(a)
            params += [q, v]
        infusion = Input(f"{D} infusion rate [mg/day]", f"u_{{{sub}}}", "zero-order input into the central compartment")
        rhs[a1.name] += infusion.sym
        inputs = [infusion]
        targets = {
            (key, "iv_bolus"): DoseTarget("state", a1.name),
            (key, "iv_infusion"): DoseTarget("input", infusion.name),
        }
        if self.settings["extravascular"]:
            ka = par("absorption rate [1/day]", "k_a", "first-order absorption rate from the depot")
            ad = State(f"{D} depot amount [mg]", f"A_{{d,{sub}}}", 0.0, f"{key} awaiting absorption")
            depot_in = Input(f"{D} depot input rate [mg/day]", f"u_{{d,{sub}}}", "zero-order input into the depot")
            params.append(ka)
            states.append(ad)
            inputs.append(depot_in)
            rhs[ad.name] = depot_in.sym - ka.sym * ad.sym
            rhs[a1.name] += ka.sym * ad.sym
            for route in self.settings["extravascular"]:
                f = par(f"{route} bioavailability [-]", f"F_{{{route}}}", f"fraction of a {route} dose absorbed",
                        bounds=(0.0, 1.0))
                params.append(f)
                targets[(key, route)] = DoseTarget("state", ad.name, scale=f.name)
                targets[(key, f"{route}_continuous")] = DoseTarget("input", depot_in.name, scale=f.name)
        return Declaration(
            states=states,
            parameters=params,
            inputs=inputs,
            rhs=rhs,
            variables={conc: C, plasma_molar(key): C / mw.sym},
            symbols={conc: f"C_{{{sub}}}", plasma_molar(key): rf"C^{{\mu M}}_{{{sub}}}"},
            dose_targets=targets,
        )
