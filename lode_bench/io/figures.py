"""Matplotlib figures to PNG bytes, reproducibly (shared by ``report`` and ``analyze``)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_DPI = 110


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (fixed DPI, tight box, no software tag: same bytes each run)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def mpl_text(text: object) -> str:
    """Text safe for matplotlib labels (a ``$`` would start mathtext and could fail)."""
    return str(text).replace("$", r"\$")
