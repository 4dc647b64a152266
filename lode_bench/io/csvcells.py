"""CSV cells that spreadsheet applications cannot run as formulas.

A text cell beginning with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) is
taken as a formula by spreadsheet applications when a CSV file is opened, so a model
label or image name such as ``=HYPERLINK(...)`` would run. Every CSV lode-bench writes
passes its cells through :func:`safe_cell`: such a text cell gets a leading apostrophe
(``'=HYPERLINK(...)``, shown as typed), while numbers, including negative numbers and text
that is a number (``-0.5``, ``-inf``, ``1e-3``), are written unchanged.
"""

from __future__ import annotations

from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def safe_cell(value: Any) -> Any:
    """``value`` unchanged, except text starting like a formula, which gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _is_number_text(value):
        return "'" + value
    return value


def safe_row(values: list[Any]) -> list[Any]:
    """:func:`safe_cell` applied to each value of a row."""
    return [safe_cell(v) for v in values]
