"""Metric metadata and the metric registry.

A metric is a pure function ``fn(pred, target, *, mask=None, **params)`` returning a
float (or, for metrics that produce several numbers from one computation such as the
RealBlur aligned metrics, a ``dict`` of named floats). :class:`MetricSpec` carries the
metadata reports and protocols need.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lode_bench.errors import LodeBenchError, ShapeMismatchError
from lode_bench.registry import Registry, resolve_target


@dataclass(frozen=True)
class MetricSpec:
    """Description of one metric variant.

    Attributes:
        name: registry name, e.g. ``"ssim_matlab_rgb"``.
        fn: ``"module:attr"`` import target (resolved lazily) or the callable itself.
        higher_is_better: direction for ranking and arrows in tables.
        value_range: (low, high) of the value; ``math.inf`` where unbounded.
        colour: colour rule in one phrase (``"RGB"``, ``"BT.601 Y"``, ``"MATLAB grey"``).
        input_rule: what the function expects (dtype and range).
        description: one-line definition shown by ``lode-bench ls metrics``.
        reference: whose numbers it reproduces.
        needs_mask: True for masked (local-blur) metrics.
        outputs: names of the values when ``fn`` returns a dict; ``()`` for a scalar.
        legacy: True for conventions kept only to reproduce old, non-comparable numbers.
        defaults: default keyword parameters.
        no_reference: True for no-reference (NR) metrics: ``fn(pred, **params)`` rates the
            output alone; ``target`` may be ``None`` (blur-only sets).
        check: ``"module:attr"`` (or callable) ``check(**params)`` that raises a
            :class:`~lode_bench.errors.LodeBenchError` when the metric cannot run here
            (a model file or optional package missing); ``None`` when it always can.
        symmetric: a full-reference metric whose value stays the same when prediction
            and ground truth swap; False for RealBlur's aligned metrics, which register
            and gain-correct the prediction onto the ground truth.
    """

    name: str
    fn: Callable[..., Any] | str
    higher_is_better: bool
    value_range: tuple[float, float]
    colour: str
    input_rule: str
    description: str
    reference: str = ""
    needs_mask: bool = False
    outputs: tuple[str, ...] = ()
    legacy: bool = False
    defaults: Mapping[str, Any] = field(default_factory=dict)
    no_reference: bool = False
    check: Callable[..., Any] | str | None = None
    symmetric: bool = True

    def availability(self, **params: Any) -> str | None:
        """``None`` when the metric can run with ``params``, else the one-line reason."""
        if self.check is None:
            return None
        fn = resolve_target(self.check, what=f"metric {self.name!r} check")
        try:
            fn(**{**self.defaults, **params})
        except LodeBenchError as exc:
            return str(exc)
        return None

    def resolve(self) -> Callable[..., Any]:
        """The metric callable (imports it on first use)."""
        fn: Callable[..., Any] = resolve_target(self.fn, what=f"metric {self.name!r}")
        return fn

    def compute(
        self,
        pred: np.ndarray,
        target: np.ndarray | None,
        *,
        mask: np.ndarray | None = None,
        **params: Any,
    ) -> dict[str, float]:
        """Run the metric and return ``{name: value}`` (or the dict of its outputs).

        No-reference metrics rate ``pred`` alone and ignore ``target`` and ``mask``.
        """
        if self.no_reference:
            value = self.resolve()(pred, **{**self.defaults, **params})
            if isinstance(value, Mapping):
                return {str(k): float(v) for k, v in value.items()}
            return {self.name: float(value)}
        if target is None:
            raise LodeBenchError(f"metric {self.name!r} is full-reference and needs a ground truth")
        if pred.shape != target.shape:
            raise ShapeMismatchError(
                f"{self.name}: prediction shape {pred.shape} differs from target shape {target.shape}"
            )
        fn = self.resolve()
        kwargs = {**self.defaults, **params}
        if self.needs_mask:
            if mask is None:
                raise LodeBenchError(f"metric {self.name!r} needs a mask")
            kwargs["mask"] = mask
        elif mask is not None and "mask" in inspect.signature(fn).parameters:
            kwargs["mask"] = mask
        value = fn(pred, target, **kwargs)
        if isinstance(value, Mapping):
            return {str(k): float(v) for k, v in value.items()}
        return {self.name: float(value)}


def _validate_spec(obj: Any) -> None:
    if not isinstance(obj, MetricSpec):
        raise LodeBenchError(
            f"metric registry entries must be MetricSpec, got {type(obj).__name__}"
        )


#: every metric: the built-ins of :mod:`lode_bench.metrics.catalog` (loaded on first lookup),
#: then the ``lode_bench.metrics`` entry-point plugins (entries name a ``MetricSpec``).
METRICS: Registry[MetricSpec] = Registry(
    "metric",
    builtins="lode_bench.metrics.catalog:builtin_metric_specs",
    entry_point_group="lode_bench.metrics",
    validate=_validate_spec,
)


def format_value(value: float, digits: int = 4) -> str:
    """Format a metric value; infinite PSNR prints as ``inf``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"
