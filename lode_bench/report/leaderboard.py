"""Leaderboard definitions (``leaderboard.yaml``) and submission validation.

A leaderboard folder::

    leaderboards/<name>/leaderboard.yaml
    leaderboards/<name>/submissions/*.json     (see lode_bench.report.submission)

``leaderboard.yaml``::

    name: sample                      # must equal the folder's submissions' "leaderboard"
    title: Built-in sample, global blur
    description: ...
    protocol: {name: basicsr, version: "1"}
    metrics: [PSNR, SSIM]             # columns every row must carry
    ranking: {metric: PSNR}           # ranking key; direction from the protocol
    submissions: submissions          # folder (relative), default "submissions"
    datasets:
      - name: lode-sample-global
        manifest_hash: <sha256 of the dataset manifest's samples>
        image_ids: [...]              # or image_list: FILE (one id per line, relative)

Validation rejects, with the reason, a submission that is malformed, targets another
leaderboard, whose dataset manifest hash or protocol version differs, whose claimed
aggregates do not match its per-image rows, that misses (or duplicates, or adds) images,
that has a failed image, or whose values lie outside the metric's declared range
(:attr:`MetricSpec.value_range <lode_bench.metrics.base.MetricSpec>`; +inf only where the
range is unbounded, and a finite PSNR-family value at most :data:`PSNR_CEILING_DB`).
When two otherwise acceptable submissions claim the same method name (compared without
case and surrounding spaces), neither is published: both are rejected, each naming the
other file, until a maintainer removes one. A submission that cannot be checked at all
(e.g. numbers that overflow) is rejected with that reason; the others are still built.

The definition is validated when loaded: the protocol must be registered, every metric
must be one of its columns (or an LPIPS column), and each key has its type checked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lode_bench.errors import ConfigError
from lode_bench.io.numbers import mean_of
from lode_bench.io.paths import safe_join
from lode_bench.io.yamlfile import load_yaml_config, short_repr
from lode_bench.report.stats import higher_is_better
from lode_bench.report.submission import Submission, SubmissionError, load_submission

SPEC_NAME = "leaderboard.yaml"
#: Relative tolerance between a claimed aggregate and the mean recomputed from the rows.
AGGREGATE_RTOL = 1e-9
#: Largest finite PSNR-family value (dB) accepted: above the largest finite PSNR two
#: distinct 8-bit images within the pixel limit can have (about 153 dB for 100 MP, from the
#: smallest BT.601 luma step), so a larger number cannot come from a real evaluation.
PSNR_CEILING_DB = 200.0
_LPIPS_COLUMNS = {"LPIPS": "lpips_alex", "LPIPS-vgg": "lpips_vgg", "LPIPS-squeeze": "lpips_squeeze"}


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset version of a leaderboard."""

    name: str
    manifest_hash: str
    image_ids: tuple[str, ...]


@dataclass(frozen=True)
class LeaderboardSpec:
    """A parsed ``leaderboard.yaml``."""

    root: Path
    name: str
    title: str
    description: str
    protocol: str
    protocol_version: str
    metrics: tuple[str, ...]
    ranking_metric: str
    datasets: tuple[DatasetSpec, ...]
    submissions_dir: Path
    #: metric column -> (low, high) accepted values (from the metric specs).
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def ranking_higher(self) -> bool:
        return higher_is_better(self.ranking_metric, self.protocol)

    def dataset(self, name: str) -> DatasetSpec | None:
        for d in self.datasets:
            if d.name == name:
                return d
        return None


def _get(doc: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in doc:
        raise ConfigError(f"{where}: missing key {key!r}")
    val = doc[key]
    if not isinstance(val, kind) or (isinstance(val, bool) and kind is not bool):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}: key {key!r} must be {names}, got {type(val).__name__}")
    return val


def _metric_ranges(where: str, protocol: str, metrics: list[str]) -> dict[str, tuple[float, float]]:
    """Declared value range of each leaderboard metric, from the protocol's metric specs."""
    from lode_bench.errors import LodeBenchError
    from lode_bench.metrics.base import METRICS
    from lode_bench.metrics.protocols import get_protocol, list_protocols

    try:
        proto = get_protocol(protocol)
    except LodeBenchError:
        known = sorted(p.name for p in list_protocols())
        raise ConfigError(
            f"{where}: protocol.name {protocol!r} is not a registered protocol "
            f"(known: {', '.join(known)})"
        ) from None
    calls = {c.column: c.metric for c in proto.calls}
    out: dict[str, tuple[float, float]] = {}
    for m in metrics:
        metric = calls.get(m) or _LPIPS_COLUMNS.get(m)
        if metric is None:
            raise ConfigError(
                f"{where}: metrics: {m!r} is not a column of protocol {protocol!r} "
                f"(columns: {', '.join([*calls, *_LPIPS_COLUMNS])})"
            )
        lo, hi = METRICS.get(metric).value_range
        out[m] = (float(lo), float(hi))
    return out


def value_problem(column: str, value: float, bounds: tuple[float, float]) -> str | None:
    """Why ``value`` cannot be a ``column`` value (``None`` when it is plausible)."""
    lo, hi = bounds
    if math.isnan(value):
        return None  # reported as missing by the caller
    if math.isinf(value):
        if value > 0 and hi == math.inf:
            return None  # e.g. PSNR of an output identical to its ground truth
        return f"{value!r} is outside the declared range [{lo:g}, {hi:g}]"
    if not lo <= value <= hi:
        return f"{value!r} is outside the declared range [{lo:g}, {hi:g}]"
    if hi == math.inf and column.lower().startswith("psnr") and value > PSNR_CEILING_DB:
        return f"{value!r} dB is above the largest possible finite PSNR ({PSNR_CEILING_DB:g} dB)"
    return None


#: How messages name a leaderboard definition (``unknown leaderboard key(s) ...``).
LEADERBOARD_KIND = "leaderboard"
#: Top-level keys of ``leaderboard.yaml``.
LEADERBOARD_KEYS = frozenset(
    {"name", "title", "description", "protocol", "metrics", "ranking", "datasets", "submissions"}
)


def load_leaderboard(root: str | Path) -> LeaderboardSpec:
    """Read ``<root>/leaderboard.yaml``.

    ``root`` is a leaderboard folder; a plain text that is no folder is looked up as a
    shipped leaderboard's name (:func:`~lode_bench.resources.leaderboard_root`).

    Raises:
        UnknownNameError: a name that is no shipped leaderboard (``did you mean``).
        ConfigError: naming the file and the bad key.
    """
    if isinstance(root, str) and not Path(root).is_dir():
        from lode_bench.resources import leaderboard_root

        root = leaderboard_root(root)
    root = Path(root)
    path = root / SPEC_NAME
    if not path.is_file():
        raise ConfigError(f"{path}: leaderboard definition not found")
    doc = load_yaml_config(path, kind=LEADERBOARD_KIND, known_keys=LEADERBOARD_KEYS)
    where = str(path)
    for key in ("title", "description", "submissions"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise ConfigError(f"{where}: key {key!r} must be text, got {type(doc[key]).__name__}")
    proto = _get(doc, "protocol", dict, where)
    pname = _get(proto, "name", str, f"{where}: protocol")
    if "version" not in proto:
        raise ConfigError(f"{where}: protocol: missing key 'version' (pin the protocol version)")
    _get(proto, "version", (str, int), f"{where}: protocol")
    metrics = _get(doc, "metrics", list, where)
    if not metrics or not all(isinstance(m, str) for m in metrics):
        raise ConfigError(f"{where}: key 'metrics' must be a non-empty list of column names")
    if len(set(metrics)) != len(metrics):
        raise ConfigError(f"{where}: key 'metrics' lists a column twice")
    ranges = _metric_ranges(where, pname, metrics)
    ranking = _get(doc, "ranking", dict, where)
    rmetric = _get(ranking, "metric", str, f"{where}: ranking")
    if rmetric not in metrics:
        raise ConfigError(f"{where}: ranking.metric {rmetric!r} is not one of metrics {metrics}")
    datasets = []
    for i, d in enumerate(_get(doc, "datasets", list, where)):
        dw = f"{where}: datasets[{i}]"
        if not isinstance(d, dict):
            raise ConfigError(f"{dw}: expected a mapping")
        dname = _get(d, "name", str, dw)
        mhash = _get(d, "manifest_hash", str, dw)
        if "image_ids" in d:
            raw = _get(d, "image_ids", list, dw)
            bad = [x for x in raw if isinstance(x, bool) or not isinstance(x, (str, int))]
            if bad:
                raise ConfigError(
                    f"{dw}: image_ids must be names, got {type(bad[0]).__name__} "
                    f"{short_repr(bad[0])}"
                )
            ids = [str(x) for x in raw]
        elif "image_list" in d:
            lst = safe_join(root, _get(d, "image_list", str, dw))
            if not lst.is_file():
                raise ConfigError(f"{dw}: image_list file {lst} not found")
            try:
                text = lst.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{dw}: cannot read image_list {lst} ({exc})") from None
            ids = [ln.strip() for ln in text.splitlines() if ln.strip()]
        else:
            raise ConfigError(f"{dw}: needs 'image_ids' or 'image_list'")
        if not ids:
            raise ConfigError(f"{dw}: the image list is empty")
        if len(set(ids)) != len(ids):
            raise ConfigError(f"{dw}: the image list has duplicate ids")
        datasets.append(DatasetSpec(dname, mhash, tuple(ids)))
    if not datasets:
        raise ConfigError(f"{where}: key 'datasets' must list at least one dataset")
    if len({d.name for d in datasets}) != len(datasets):
        raise ConfigError(f"{where}: dataset names must be unique")
    name = _get(doc, "name", str, where)
    return LeaderboardSpec(
        root=root,
        name=name,
        title=str(doc.get("title") or name),
        description=str(doc.get("description") or ""),
        protocol=pname,
        protocol_version=str(proto["version"]),
        metrics=tuple(metrics),
        ranking_metric=rmetric,
        datasets=tuple(datasets),
        submissions_dir=safe_join(root, str(doc.get("submissions") or "submissions")),
        ranges=ranges,
    )


@dataclass
class Verdict:
    """Outcome of validating one submission file."""

    path: Path
    submission: Submission | None
    problems: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.submission is not None and not self.problems

    @property
    def name(self) -> str:
        return self.submission.name if self.submission else self.path.name


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= AGGREGATE_RTOL * max(1.0, abs(b))


def check_submission(spec: LeaderboardSpec, sub: Submission) -> list[str]:
    """Reasons to reject ``sub`` on ``spec`` (empty when it is acceptable)."""
    problems: list[str] = []
    if sub.leaderboard != spec.name:
        problems.append(
            f"submitted to leaderboard {short_repr(sub.leaderboard)}, not {spec.name!r}"
        )
    seen: set[str] = set()
    for block in sub.results:
        where = f"results for dataset {short_repr(block.dataset)}"
        ds = spec.dataset(block.dataset)
        if ds is None:
            problems.append(
                f"{where}: dataset is not part of this leaderboard "
                f"(expected {[d.name for d in spec.datasets]})"
            )
            continue
        if block.dataset in seen:
            problems.append(f"{where}: dataset appears twice")
            continue
        seen.add(block.dataset)
        if block.dataset_hash != ds.manifest_hash:
            problems.append(
                f"{where}: dataset manifest hash {block.dataset_hash[:12]}… differs "
                f"from the leaderboard's {ds.manifest_hash[:12]}… (another version "
                "of the dataset)"
            )
        if block.protocol != spec.protocol or block.protocol_version != spec.protocol_version:
            problems.append(
                f"{where}: protocol {block.protocol} v{block.protocol_version} "
                f"differs from the leaderboard's {spec.protocol} "
                f"v{spec.protocol_version}"
            )
        problems += _check_rows(spec, ds, block, where)
    for ds in spec.datasets:
        if ds.name not in seen:
            problems.append(f"no results for dataset {ds.name!r}")
    return problems


def _check_rows(spec: LeaderboardSpec, ds: DatasetSpec, block: Any, where: str) -> list[str]:
    problems = []
    ids = [r.image_id for r in block.rows]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        problems.append(f"{where}: duplicate image rows {_few(dup)}")
    expected = set(ds.image_ids)
    missing = sorted(expected - set(ids))
    extra = sorted(set(ids) - expected)
    if missing:
        problems.append(
            f"{where}: missing {len(missing)} of {len(expected)} images: {_few(missing)}"
        )
    if extra:
        problems.append(f"{where}: images not in the dataset: {_few(extra)}")
    odd_rt = [
        r.image_id
        for r in block.rows
        if r.runtime_s is not None and not (math.isfinite(r.runtime_s) and r.runtime_s >= 0)
    ]
    if odd_rt or (
        block.runtime_s is not None
        and not (math.isfinite(block.runtime_s) and block.runtime_s >= 0)
    ):
        problems.append(
            f"{where}: runtime_s must be a finite number of seconds >= 0 (images {_few(odd_rt)})"
        )
    odd_cov = [
        r.image_id
        for r in block.rows
        if r.mask_coverage is not None and not 0.0 <= r.mask_coverage <= 1.0
    ]
    if odd_cov:
        problems.append(f"{where}: mask_coverage must lie in [0, 1] (images {_few(odd_cov)})")
    failed = [r for r in block.rows if r.status != "ok"]
    if failed:
        problems.append(
            f"{where}: {len(failed)} image(s) failed, e.g. {short_repr(failed[0].image_id)}: "
            f"{str(failed[0].error or failed[0].status)[:200]}"
        )
    for m in spec.metrics:
        lacking = [
            r.image_id
            for r in block.rows
            if r.status == "ok" and (m not in r.metrics or math.isnan(r.metrics[m]))
        ]
        if lacking:
            problems.append(f"{where}: metric {m!r} missing or NaN for images {_few(lacking)}")
            continue
        bounds = spec.ranges.get(m)
        if bounds is not None:
            bad = [
                (r.image_id, why)
                for r in block.rows
                if r.status == "ok" and (why := value_problem(m, r.metrics[m], bounds)) is not None
            ]
            if m in block.aggregates:
                why = value_problem(m, block.aggregates[m], bounds)
                if why is not None:
                    bad.append(("aggregate", why))
            if bad:
                problems.append(
                    f"{where}: {len(bad)} impossible {m} value(s), e.g. "
                    f"{short_repr(bad[0][0])}: {bad[0][1]}"
                )
                continue
        if m not in block.aggregates:
            problems.append(f"{where}: no claimed aggregate for metric {m!r}")
            continue
        recomputed = mean_of([r.metrics[m] for r in block.rows if r.status == "ok"])
        if not _close(block.aggregates[m], recomputed):
            problems.append(
                f"{where}: claimed {m} = {block.aggregates[m]!r} does not match the "
                f"mean of its per-image rows ({recomputed!r})"
            )
    for m, claimed in block.aggregates.items():
        if m in spec.metrics:
            continue
        vals = [r.metrics[m] for r in block.rows if r.status == "ok" and m in r.metrics]
        if vals and not _close(claimed, mean_of(vals)):
            problems.append(
                f"{where}: claimed {m} = {claimed!r} does not match the mean of its "
                f"per-image rows ({mean_of(vals)!r})"
            )
    return problems


def _few(items: list[str], k: int = 5) -> str:
    shown = ", ".join(short_repr(i) for i in items[:k])
    return shown + (f" (+{len(items) - k} more)" if len(items) > k else "")


def validate_file(spec: LeaderboardSpec, path: str | Path) -> Verdict:
    """Load and check one submission file; malformed or uncheckable files become a
    rejected verdict (never an exception that would stop the other submissions)."""
    p = Path(path)
    try:
        sub = load_submission(p)
    except SubmissionError as exc:
        return Verdict(p, None, [f"malformed: {exc}"])
    try:
        problems = check_submission(spec, sub)
    except (ArithmeticError, RecursionError, ValueError, TypeError, KeyError) as exc:
        msg = " ".join(str(exc).split())[:200]
        return Verdict(p, sub, [f"cannot be checked ({type(exc).__name__}: {msg})"])
    return Verdict(p, sub, problems)


def validate_all(spec: LeaderboardSpec, paths: list[Path] | None = None) -> list[Verdict]:
    """Validate every ``*.json`` in the submissions folder (or ``paths``), in name order.

    Otherwise acceptable submissions that claim the same method name (case and surrounding
    spaces ignored) are all rejected as ambiguous, each naming the other files: the file
    name order must not decide who owns a name.
    """
    if paths is None:
        paths = sorted(spec.submissions_dir.glob("*.json")) if spec.submissions_dir.is_dir() else []
    verdicts = [validate_file(spec, p) for p in paths]
    owners: dict[str, list[Verdict]] = {}
    for v in verdicts:
        if v.accepted and v.submission is not None:
            owners.setdefault(v.submission.name.strip().lower(), []).append(v)
    for claim in owners.values():
        if len(claim) < 2:
            continue
        for v in claim:
            others = ", ".join(o.path.name for o in claim if o is not v)
            v.problems.append(
                f"ambiguous method name {short_repr(v.name)}: also claimed by {others} "
                "(keep one submission per method)"
            )
    return verdicts
