"""Figure helpers shared by the study report and the fit report: a bare Agg figure and its PNG as base64.

Matplotlib is imported inside the functions and drives a bare ``Figure`` on
the Agg canvas, so making a report never touches pyplot's global backend. This
module sits below both ``chemohost.report`` and ``chemohost.calibration`` so
that neither imports the other's internals.
"""

from __future__ import annotations

import base64
import io

__all__ = ["DPI", "figure", "png"]

DPI = 110
"""Resolution of report figures [dots per inch]."""


def figure(width: float, height: float):
    """A bare matplotlib Figure of ``width`` × ``height`` inches on the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig) -> str:
    """``fig`` as a base64 PNG string for an ``<img src="data:image/png;base64,…">``."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
