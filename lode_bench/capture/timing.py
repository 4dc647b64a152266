"""Frame timing: variable frame rate, dropped and duplicated frames, windows by time.

Phone videos are often variable-frame-rate and drop or repeat frames under load; a
window of *n* frames taken by index then spans more (or less) time than *n* frame
intervals, and the blur it makes is not the blur of one exposure. Given each frame's
timestamp (container presentation times read by :mod:`lode_bench.io.video`, or a
``frames.json``), :func:`analyse_timing` reports

* the nominal frame interval (median of the intervals) and frame rate;
* **dropped** frames: an interval longer than 1.5 nominal intervals
  (``round(dt / nominal) - 1`` frames missing there);
* **duplicated** frames: an interval shorter than half a nominal interval (a repeated
  or zero-length timestamp);
* **variable frame rate**: intervals spread by more than ``vfr_tolerance`` (5 %) of the
  nominal one after drops and duplicates are set aside;
* **repeated content** (given by the caller, e.g. found by ``capture extract``): a
  frame whose decoded pixels equal the previous frame's exactly, as phones emit when
  the encoder had no new picture; the interval before it counts as a duplicate.

When timing is irregular, :func:`plan_windows_by_time` chooses windows by time: a
drawn length *n* is an exposure of *n* nominal intervals, the window holds the frames
that fall inside it (more where the camera ran faster), no window holds a drop or a
duplicate, and window starts are spaced in seconds. Windows that would straddle a gap
are moved past it and counted in :attr:`WindowPlan.skipped`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lode_bench.errors import LodeBenchError

DROP_FACTOR = 1.5
DUP_FACTOR = 0.5


class TimingError(LodeBenchError):
    """Timestamps are unusable (too few, not finite, decreasing)."""


@dataclass
class TimingReport:
    """What :func:`analyse_timing` found (``as_dict`` for manifests)."""

    n_frames: int
    nominal_interval: float
    nominal_fps: float
    duration: float
    dropped: list[dict[str, float]] = field(default_factory=list)
    duplicated: list[int] = field(default_factory=list)
    variable_frame_rate: bool = False
    interval_spread: float = 0.0
    repeated: list[int] = field(default_factory=list)

    @property
    def irregular(self) -> bool:
        """True when windows must be chosen by time (drops, duplicates, repeats or VFR)."""
        return bool(self.dropped or self.duplicated or self.repeated or self.variable_frame_rate)

    @property
    def n_dropped(self) -> int:
        return int(sum(d["missing"] for d in self.dropped))

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_frames": self.n_frames,
            "nominal_fps": round(self.nominal_fps, 6),
            "duration": round(self.duration, 6),
            "irregular": self.irregular,
            "variable_frame_rate": self.variable_frame_rate,
            "interval_spread": round(self.interval_spread, 6),
            "dropped": self.dropped,
            "n_dropped": self.n_dropped,
            "duplicated": self.duplicated,
            "repeated_content": self.repeated,
        }

    def summary(self) -> str:
        """One line for people: frame rate and every irregularity."""
        parts = [f"{self.n_frames} frames, {self.nominal_fps:.3f} fps nominal"]
        if self.variable_frame_rate:
            parts.append(
                f"variable frame rate (interval spread {100 * self.interval_spread:.1f} %)"
            )
        if self.dropped:
            where = ", ".join(
                f"{int(d['missing'])} after frame {int(d['after'])}" for d in self.dropped[:5]
            )
            parts.append(f"{self.n_dropped} dropped frame(s) ({where})")
        if self.duplicated:
            parts.append(f"{len(self.duplicated)} duplicated frame(s) (at {self.duplicated[:5]})")
        if self.repeated:
            parts.append(f"{len(self.repeated)} repeated frame(s) (at {self.repeated[:5]})")
        if not self.irregular:
            parts.append("regular")
        return "; ".join(parts)


def analyse_timing(
    timestamps: Sequence[float],
    *,
    nominal_fps: float | None = None,
    vfr_tolerance: float = 0.05,
    repeated: Sequence[int] = (),
) -> TimingReport:
    """Nominal rate, drops, duplicates and VFR of a sequence of frame timestamps.

    Args:
        timestamps: seconds, one per frame, in presentation order.
        nominal_fps: the rate the camera was set to; default 1 / median interval.
        vfr_tolerance: relative spread of regular intervals tolerated as constant rate.
        repeated: indices of frames whose content repeats the previous frame.

    Raises:
        TimingError: fewer than 2 frames, non-finite or decreasing timestamps.
    """
    t = np.asarray(timestamps, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise TimingError(f"timing needs at least 2 timestamps, got {t.size}")
    if not np.all(np.isfinite(t)):
        raise TimingError("timestamps contain NaN or infinite values")
    dt = np.diff(t)
    if np.any(dt < 0):
        i = int(np.argmax(dt < 0))
        raise TimingError(f"timestamps decrease at frame {i + 1} ({t[i]:.6f} -> {t[i + 1]:.6f} s)")
    positive = dt[dt > 0]
    if nominal_fps is not None:
        nominal = 1.0 / float(nominal_fps)
    elif positive.size:
        nominal = float(np.median(positive))
    else:
        raise TimingError("all timestamps are equal")
    dropped = [
        {"after": int(i), "missing": int(round(dt[i] / nominal)) - 1, "gap": round(float(dt[i]), 6)}
        for i in np.flatnonzero(dt > DROP_FACTOR * nominal)
    ]
    dups = [int(i) + 1 for i in np.flatnonzero(dt < DUP_FACTOR * nominal)]
    regular = dt[(dt >= DUP_FACTOR * nominal) & (dt <= DROP_FACTOR * nominal)]
    spread = float(np.max(np.abs(regular - nominal)) / nominal) if regular.size else 0.0
    return TimingReport(
        n_frames=int(t.size),
        nominal_interval=nominal,
        nominal_fps=1.0 / nominal,
        duration=float(t[-1] - t[0]),
        dropped=dropped,
        duplicated=dups,
        variable_frame_rate=spread > vfr_tolerance,
        interval_spread=spread,
        repeated=sorted(int(i) for i in repeated),
    )


@dataclass
class WindowPlan:
    """Windows (start, count, group) chosen by time, and how many were moved past a gap."""

    windows: list[tuple[int, int, int]]
    skipped: int = 0


def window_stride(n: int, duty_cycle: float) -> int:
    """Source frames between the starts of consecutive windows of ``n`` frames.

    ``max(n, floor((n - 1) / duty_cycle + 1/2))``: the window's ``n - 1`` intervals are
    the exposed ``duty_cycle`` of the output period (REDS: ``(5 - 1) / 0.8 = 5``).
    """
    return max(n, int(math.floor((n - 1) / duty_cycle + 0.5 + 1e-9)))


def plan_windows_by_time(
    timestamps: Sequence[float],
    n_choices: Sequence[int],
    duty_cycle: float,
    rng: np.random.Generator,
    *,
    nominal_interval: float,
    per_sequence: int | None = None,
    repeated: Sequence[int] = (),
) -> WindowPlan:
    """Disjoint exposure windows of fixed *duration*, over frames with regular spacing.

    A drawn length *n* means an exposure of *n* nominal frame intervals. The window
    starting at frame *s* holds every following frame whose timestamp is earlier than
    ``t[s] + (n - 0.5) × nominal`` (exactly *n* frames at the nominal rate, more where
    the camera ran faster, fewer where it ran slower). A window is refused when an
    interval inside it is a drop (> 1.5 nominal) or a duplicate (< 0.5 nominal), or
    when it would hold fewer than ``ceil(n / 2)`` frames; it then restarts right after
    the bad interval. The next window starts :func:`window_stride` nominal intervals
    of time after the current start (the index planner's stride).

    Args:
        timestamps: seconds per frame (presentation order, non-decreasing).
        n_choices: allowed exposure lengths, in nominal frames.
        duty_cycle: exposed fraction of the time between window starts.
        rng: draws the lengths (same draw order as the index planner).
        nominal_interval: seconds between frames at the nominal rate.
        per_sequence: one length per group of this many windows (GoPro layout).
        repeated: frames repeating the previous one's content (the interval before
            each counts as a duplicate).

    Returns:
        A :class:`WindowPlan`; frames ``start .. start + count - 1`` of each window are
        consecutive.
    """
    t = np.asarray(timestamps, dtype=np.float64)
    nom = float(nominal_interval)
    dt = np.diff(t)
    ok = (dt >= DUP_FACTOR * nom) & (dt <= DROP_FACTOR * nom)
    for i in repeated:
        if 1 <= int(i) < t.size:
            ok[int(i) - 1] = False
    bad_before = np.concatenate([[0], np.cumsum(~ok)])  # bad intervals among the first k
    out: list[tuple[int, int, int]] = []
    skipped, group, in_group = 0, 0, 0
    n = int(rng.choice(list(n_choices)))
    start = 0
    while True:
        if per_sequence is None:
            n = int(rng.choice(list(n_choices))) if out else n
        elif in_group == per_sequence:
            group, in_group, n = group + 1, 0, int(rng.choice(list(n_choices)))
        placed = False
        while start < t.size:
            stop = int(np.searchsorted(t, t[start] + (n - 0.5) * nom, side="left"))
            count = stop - start
            if stop >= t.size and t[-1] < t[start] + (n - 1) * nom - 0.25 * nom:
                break  # the video ends inside this exposure
            if bad_before[stop - 1] - bad_before[start] == 0 and 2 * count >= n:
                placed = True
                break
            skipped += 1
            inside = np.flatnonzero(~ok[start : stop - 1])
            start = start + (int(inside[-1]) + 1 if inside.size else 1)
        if not placed:
            break
        out.append((start, count, group))
        in_group += 1
        t_next = float(t[start]) + window_stride(n, duty_cycle) * nom
        start = int(np.searchsorted(t, t_next - 0.25 * nom, side="left"))
    return WindowPlan(out, skipped)
