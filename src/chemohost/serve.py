"""``chemohost serve``: the explorer in a browser (Panel + Bokeh).

Panel was chosen over Dash because its widgets, layout and server are plain
Python objects on Bokeh, whose figures link their time axes and show values on
hover natively and update in place by patching column data sources — so a dose
change re-draws one arm's lines without re-sending a figure. The app holds one
:class:`chemohost.explorer.Explorer` per browser session: the model's kernel is
compiled once per process, the cohort is kept, and only changed arms are
re-simulated.
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from .drugs import get_drug
from .explorer import (BLOCKERS, DRUGS, MAX_ARMS, MAX_BLOCKERS, MAX_PATIENTS, SCHEDULES, TUMOUR_MODELS, ArmSpec,
                       BlockerSpec, Explorer, ExplorerError)
from .io import save_results
from .report import concentration_profiles, write_report
from .study import load_study, plan_study, run_study

__all__ = ["make_app", "serve"]

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
NONE = "none (vehicle)"
NO_BLOCKER = "none"
HOST_QUANTITIES = ("Circulating endothelial progenitors [-]", "Circulating myeloid cells [-]", "SDF-1 [-]",
                   "G-CSF [-]", "VEGF-A [-]", "IL-1beta [-]", "IL-6 [-]", "MMP-9 [-]", "EV niche signal [-]",
                   "Homed endothelial progenitors [-]", "Homed myeloid cells [-]")
NEUTROPHILS = "Circulating neutrophils [1e9/L]"
GRADES = ((1.0, "grade 3 (< 1.0)"), (0.5, "grade 4 (< 0.5)"))  # CTCAE v5 absolute neutrophil count [1e9/L]
VOLUME = "Tumour volume [mm3]"


def _band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and 90% band over patients (axis 0)."""
    q = np.nanquantile(values, [0.5, 0.05, 0.95], axis=0)
    return q[0], q[1], q[2]


class _ArmControls:
    """The widgets of one arm."""

    def __init__(self, pn, index: int, on_change, on_typing):
        self.index = index
        drug = "paclitaxel" if index < 2 else NONE
        w = pn.widgets
        tag = f"arm{index + 1}"
        self.name = w.TextInput(name="Arm name", value=f"arm {index + 1}", css_classes=[f"{tag}-name"])
        self.drug = w.Select(name="Drug", options=[NONE, *DRUGS], value=drug, css_classes=[f"{tag}-drug"])
        self.dose = w.FloatInput(name="Dose [mg/kg(/day)]", value=25.0, start=0.0, css_classes=[f"{tag}-dose"],
                                 width=150)
        self.route = w.Select(name="Route", options=list(DRUGS["paclitaxel"][1]), css_classes=[f"{tag}-route"],
                              width=150)
        self.schedule = w.Select(name="Schedule", options=list(SCHEDULES), value="MTD",
                                 css_classes=[f"{tag}-schedule"], width=150)
        self.start = w.FloatInput(name="First dose [day]", value=10.0, start=0.0, css_classes=[f"{tag}-start"],
                                  width=150)
        self.custom = w.TextInput(name="Custom regimen (overrides the above)", placeholder=
                                  "e.g. paclitaxel 25 mg/kg iv q7d x3 from day 10 + DC101 800 ug iv q3d from day 10",
                                  css_classes=[f"{tag}-custom"])
        self.error = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=[f"{tag}-error"])
        self.blockers = []
        for k in range(MAX_BLOCKERS):
            b = f"{tag}-blocker{k + 1}"
            self.blockers.append((
                w.Select(name=f"Blocker {k + 1}", options=[NO_BLOCKER, *BLOCKERS],
                         value="dc101" if index == 1 and k == 0 else NO_BLOCKER, css_classes=[f"{b}-agent"],
                         width=150),
                w.FloatInput(name="from day", value=10.0, start=0.0, css_classes=[f"{b}-start"], width=70),
                w.FloatInput(name="dose", value=None, start=0.0, placeholder="default", css_classes=[f"{b}-dose"],
                             width=70),
            ))
        self.enabled = w.Checkbox(name="compare this arm", value=index < 2, css_classes=[f"{tag}-enabled"])
        widgets = [self.name, self.drug, self.dose, self.route, self.schedule, self.start, self.custom,
                   *(x for row in self.blockers for x in row), self.enabled]
        for widget in widgets:
            widget.param.watch(on_change, "value")
        self.custom.param.watch(on_typing, "value_input")
        self.drug.param.watch(self._drug_changed, "value")
        self.card = pn.Card(
            self.enabled, self.name, self.drug, pn.Row(self.dose, self.start), pn.Row(self.route, self.schedule),
            *(pn.Row(*row) for row in self.blockers), self.custom, self.error,
            title=f"Arm {index + 1}", collapsed=index >= 2, header_color=COLOURS[index], width=360)

    def _drug_changed(self, event) -> None:
        if event.new in DRUGS:
            default, routes = DRUGS[event.new]
            self.route.options = list(routes)
            self.dose.value = default

    def spec(self, custom: str | None = None) -> ArmSpec:
        blockers = tuple(BlockerSpec(agent.value, start.value, dose.value)
                         for agent, start, dose in self.blockers if agent.value != NO_BLOCKER)
        return ArmSpec(name=self.name.value.strip() or f"arm {self.index + 1}",
                       drug=None if self.drug.value == NONE else self.drug.value, dose=self.dose.value,
                       route=self.route.value, schedule=self.schedule.value, start=self.start.value,
                       blockers=blockers, custom=self.custom.value if custom is None else custom)


class _App:
    """One browser session: widgets, figures and the explorer they drive."""

    def __init__(self, explorer: Explorer):
        import panel as pn
        from bokeh.models import ColumnDataSource, HoverTool, Span
        from bokeh.plotting import figure

        self.pn, self.explorer = pn, explorer
        self.arms = [_ArmControls(pn, i, self._changed, self._typing) for i in range(MAX_ARMS)]
        self.tumour = pn.widgets.Select(name="Tumour model and parameter set", options=list(TUMOUR_MODELS),
                                        value=explorer.tumour_model, css_classes=["tumour-model"])
        self.tumour.param.watch(self._tumour_changed, "value")
        self.host = pn.widgets.Select(name="Host quantity (fold over baseline)", options=list(HOST_QUANTITIES),
                                      value=HOST_QUANTITIES[0], css_classes=["host-quantity"])
        self.host.param.watch(lambda _: self._later(self._draw), "value")
        self.status = pn.pane.Markdown("", css_classes=["status"])
        self.updates = 0
        self.results = None

        tools = "pan,wheel_zoom,box_zoom,reset,save"
        first = None
        self.figures = {}
        panels = (("volume", "Tumour volume [mm³] — median and 90% band", "log"),
                  ("plasma", "Plasma concentrations [ng/mL] — median", "log"),
                  ("host", "Host response — median fold over baseline", "log"),
                  ("neutrophils", "Circulating neutrophils [10⁹/L] — median and 90% band", "linear"),
                  ("vessels", "Vascular carrying capacity [mm³] — median", "log"),
                  ("metastases", "Metastatic burden [cells] — median", "linear"))
        for key, title, y_scale in panels:
            linked = {"x_range": first.x_range} if first else {}  # one time axis for every panel
            fig = figure(title=title, height=210, sizing_mode="stretch_width", y_axis_type=y_scale, tools=tools,
                         x_axis_label="day", **linked)
            fig.add_tools(HoverTool(tooltips=[("arm", "@arm"), ("series", "@series"), ("day", "@x{0.00}"),
                                              ("value", "@y{0.000}")]))
            first = first or fig
            self.figures[key] = fig
        for value, label in GRADES:
            self.figures["neutrophils"].add_layout(Span(location=value, dimension="width", line_dash="dashed",
                                                        line_color="#888"))
            self.figures["neutrophils"].text(x=[0.5], y=[value], text=[label], text_font_size="8pt",
                                             text_color="#666")
        # one source per arm slot and panel: median lines (several series for plasma), bands where drawn
        self.lines, self.bands = {}, {}
        for i, colour in enumerate(COLOURS):
            for key, fig in self.figures.items():
                src = ColumnDataSource({"xs": [], "ys": [], "arm": [], "series": [], "x": [], "y": []})
                self.lines[i, key] = (src, fig.multi_line("xs", "ys", source=src, line_color=colour, line_width=2))
                if key in ("volume", "host", "neutrophils"):
                    band = ColumnDataSource({"x": [], "lo": [], "hi": []})
                    fig.varea("x", "lo", "hi", source=band, fill_color=colour, fill_alpha=0.15)
                    self.bands[i, key] = band
        self.placeholders = pn.pane.Alert(self._placeholder_text(), alert_type="warning",
                                          css_classes=["placeholders"])
        downloads = pn.Row(
            pn.widgets.FileDownload(callback=self._yaml, filename="study.yaml", label="Study YAML",
                                    css_classes=["download-yaml"], button_type="primary"),
            pn.widgets.FileDownload(callback=self._csv, filename="medians.csv", label="Medians (CSV)",
                                    css_classes=["download-csv"]),
            pn.widgets.FileDownload(callback=self._netcdf, filename="results.nc", label="Results (NetCDF)",
                                    css_classes=["download-nc"]),
            pn.widgets.FileDownload(callback=self._report, filename="report.html", label="Report (HTML)",
                                    css_classes=["download-report"]),
        )
        sidebar = pn.Column(self.tumour, *(a.card for a in self.arms), width=380)
        main = pn.Column(self.placeholders, self.status, downloads, self.host,
                         *(pn.pane.Bokeh(f, sizing_mode="stretch_width") for f in self.figures.values()),
                         sizing_mode="stretch_width")
        self.layout = pn.Row(sidebar, main, sizing_mode="stretch_width")
        self._simulate()

    # --- state -> results ----------------------------------------------------------------------------
    def _specs(self) -> list[ArmSpec]:
        return [a.spec() for a in self.arms if a.enabled.value]

    def _typing(self, event) -> None:
        """Live validation of a custom regimen as it is typed (nothing is simulated until it is entered)."""
        for arm in self.arms:
            if event.obj is arm.custom:
                self._validate(arm, arm.spec(custom=event.new))

    def _validate(self, arm: _ArmControls, spec: ArmSpec) -> bool:
        try:
            self.explorer.regimen(spec)
        except ExplorerError as exc:
            arm.error.object, arm.error.visible = f"**{spec.name}**: {exc}", True
            return False
        arm.error.visible = False
        return True

    def _changed(self, _event=None) -> None:
        self._later(self._simulate)

    def _later(self, fn) -> None:
        """Run ``fn`` on the session's next tick, under the document lock (a widget callback may not hold it
        when it changes the figures' data sources directly)."""
        doc = self.pn.state.curdoc
        if doc is None or doc.session_context is None:
            fn()
        else:
            doc.add_next_tick_callback(fn)

    def _tumour_changed(self, event) -> None:
        self.status.object = f"Building the {event.new} model…"

        def rebuild():
            self.explorer.set_tumour_model(event.new)
            self.placeholders.object = self._placeholder_text()
            self._simulate()

        self._later(rebuild)

    def _simulate(self) -> None:
        valid = all([self._validate(a, a.spec()) for a in self.arms if a.enabled.value])
        specs = self._specs()
        if not valid or not specs:
            self.status.object = (f"Showing the last valid view (update {self.updates}); fix the arm marked in red."
                                  if specs else "Tick 'compare this arm' on at least one arm.")
            return
        started = time.perf_counter()
        try:
            self.results = self.explorer.simulate(specs)
        except ExplorerError as exc:
            self.status.object = f"Showing the last valid view (update {self.updates}): {exc}"
            return
        self.updates += 1
        self._draw()
        self.status.object = (f"Update {self.updates}: {len(specs)} arm(s) × {self.explorer.patients} mice in "
                              f"{time.perf_counter() - started:.2f} s.")

    # --- results -> figures ----------------------------------------------------------------------------
    def _draw(self) -> None:
        ds = self.results
        if ds is None:
            return
        t = ds["time"].values
        names = list(ds["arm"].values)
        for i in range(MAX_ARMS):
            for key in self.figures:
                src, renderer = self.lines[i, key]
                series = self._series(ds, names[i], key) if i < len(names) else []
                renderer.visible = bool(series)
                src.data = {"xs": [t] * len(series), "ys": [s[1] for s in series], "arm": [names[i]] * len(series)
                            if i < len(names) else [], "series": [s[0] for s in series],
                            "x": [t[-1]] * len(series), "y": [float(s[1][-1]) for s in series]}
                if (i, key) in self.bands:
                    band = self._band(ds, names[i], key) if i < len(names) else None
                    self.bands[i, key].data = ({"x": t, "lo": band[0], "hi": band[1]} if band is not None
                                               else {"x": [], "lo": [], "hi": []})

    def _variable(self, key: str) -> str | None:
        return {"volume": VOLUME, "host": self.host.value, "neutrophils": NEUTROPHILS,
                "vessels": "Vascular carrying capacity [mm3]", "metastases": "Metastatic burden [cell]"}.get(key)

    def _series(self, ds, arm: str, key: str) -> list[tuple[str, np.ndarray]]:
        if key == "plasma":
            regimen = yaml.safe_load(ds.attrs["regimens"])[arm]
            agents = dict.fromkeys(get_drug(part.split()[0]).key for part in regimen.split(" + ") if part != "none")
            out = []
            for agent in agents:
                name = f"Plasma {agent} [ng/mL]"
                if name in ds:
                    out.append((agent, np.maximum(ds[name].sel(arm=arm).median("patient").values, 1e-3)))
            return out
        name = self._variable(key)
        if name not in ds:
            return []
        return [(name, ds[name].sel(arm=arm).median("patient").values)]

    def _band(self, ds, arm: str, key: str):
        name = self._variable(key)
        if name not in ds:
            return None
        _, lo, hi = _band(ds[name].sel(arm=arm).values)
        return lo, hi

    def _placeholder_text(self) -> str:
        names = self.explorer.placeholders
        total = len(self.explorer.plan.table)
        shown = ", ".join(names[:12]) + (f", … (+{len(names) - 12} more)" if len(names) > 12 else "")
        return (f"⚠ **{len(names)} of {total} parameter values behind this view are placeholders** "
                f"(tag U or proposed; unverified): {shown}. Read the arms as illustrations, not predictions.")

    # --- downloads ---------------------------------------------------------------------------------------
    def _yaml(self):
        return io.BytesIO(self.explorer.study_yaml(self._specs()).encode())

    def _csv(self):
        ds = self.results
        rows = []
        for name in (VOLUME, NEUTROPHILS, self.host.value):
            if name in ds:
                med = ds[name].median("patient")
                for arm in ds["arm"].values:
                    for t, v in zip(ds["time"].values, med.sel(arm=arm).values):
                        rows.append(f'"{arm}","{name}",{t!r},{float(v)!r}')
        return io.BytesIO(("arm,variable,time,median\n" + "\n".join(rows) + "\n").encode())

    def _study_run(self, folder: Path):
        config = load_study(self.explorer.study_yaml(self._specs()))
        plan = plan_study(config)
        return run_study(config, plan=plan), plan

    def _netcdf(self):
        with tempfile.TemporaryDirectory() as tmp:
            results, _ = self._study_run(Path(tmp))
            path = save_results(results, Path(tmp) / "results.nc")
            return io.BytesIO(Path(path).read_bytes())

    def _report(self):
        with tempfile.TemporaryDirectory() as tmp:
            results, plan = self._study_run(Path(tmp))
            report = write_report(results, plan, Path(tmp), profiles=concentration_profiles(plan))
            return io.BytesIO(Path(report).read_bytes())


def make_app(explorer: Explorer):
    """The Panel layout of one session driving ``explorer``."""
    return _App(explorer).layout


def serve(study=None, *, port: int = 5006, host: str = "127.0.0.1", patients: int = 100,
          duration: float | None = None, show: bool = False) -> None:
    """Serve the explorer on ``host:port`` until interrupted (one :class:`Explorer` per browser session)."""
    import panel as pn

    if not 1 <= patients <= MAX_PATIENTS:
        raise ExplorerError(f"--patients must lie in [1, {MAX_PATIENTS}], got {patients}")
    first = Explorer(study, patients=patients, duration=duration)  # validates and plans once per process
    first.simulate([ArmSpec("warm-up")])  # loads (or compiles) the model's kernel before the first visitor
    pn.extension(notifications=False)

    def session():
        explorer = Explorer(study, patients=patients, duration=duration)  # shares the plan and results cache
        return pn.template.BootstrapTemplate(title="chemohost explorer", main=[make_app(explorer)])

    origins = [f"{host}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    print(f"chemohost explorer on http://{host}:{port} (Ctrl-C to stop)", flush=True)
    pn.serve({"/": session}, port=port, address=host, show=show, websocket_origin=origins, title="chemohost")
