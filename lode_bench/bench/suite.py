"""Benchmark suites: lists of models × datasets × protocols in a YAML file.

Format (``configs/suites/*.yaml``)::

    name: gopro-classics
    description: one line
    models:                       # strings "NAME" / "NAME=CHECKPOINT", or mappings
      - identity
      - {name: nafnet, checkpoint: ${LODE_WEIGHTS}/NAFNet-GoPro-width64.pth}
    datasets:                     # "KIND:PATH" / manifest folder, or {spec:, protocols:, split:}
      - gopro:${LODE_DATA}/GOPRO_Large
      - {spec: "gopro-gamma:${LODE_DATA}/GOPRO_Large", protocols: [deepdeblur]}
    protocols: [gopro]            # default protocols for datasets that name none
    settings: {device: auto, amp: false, tile: null, limit: null}

``${VAR}`` is replaced from the environment; relative paths are relative to the current
directory. Every run of the cross product goes into the same store. ``settings`` become
a :class:`~lode_bench.bench.settings.RunSettings` (the command line's options override
them). A model that cannot be loaded (a missing checkpoint) is skipped with an error row
in the summaries; the other jobs still run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lode_bench.bench.settings import RunSettings
from lode_bench.errors import ConfigError
from lode_bench.io.yamlfile import load_yaml_config, short_repr
from lode_bench.models.loader import ModelSpec

#: Top-level keys of a suite file.
SUITE_KEYS = frozenset({"name", "description", "models", "datasets", "protocols", "settings"})

_SETTINGS = {
    "device",
    "amp",
    "tile",
    "limit",
    "workers",
    "warmup",
    "lpips",
    "save_outputs",
    "retry_errors",
    "flops",
    "verify_hashes",
    "mask_threshold",
    "allow_grey",
}


@dataclass(frozen=True)
class SuiteRun:
    """One (model, dataset, protocol) job of a suite."""

    model: ModelSpec
    dataset: str
    protocol: str
    split: str | None = None


@dataclass
class Suite:
    name: str
    description: str
    runs: list[SuiteRun]
    settings: RunSettings = field(default_factory=RunSettings)


def _expand(text: str, where: str) -> str:
    out = os.path.expandvars(text)
    if "${" in out:
        raise ConfigError(f"{where}: environment variable not set in {text!r}")
    return out


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _text(v: Any) -> bool:
    return isinstance(v, str) and v.strip() != ""


#: Type rule and its wording for each ``settings`` key (checked at load time).
_SETTING_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "device": (_text, "a device name (auto, cpu, cuda, cuda:1, mps)"),
    "amp": (lambda v: isinstance(v, bool), "true or false"),
    "tile": (lambda v: v is None or (_is_int(v) and v >= 16), "null or an int >= 16 (pixels)"),
    "limit": (lambda v: v is None or (_is_int(v) and v >= 1), "null or an int >= 1"),
    "workers": (lambda v: v is None or (_is_int(v) and v >= 1), "null or an int >= 1"),
    "warmup": (lambda v: _is_int(v) and v >= 0, "an int >= 0"),
    "lpips": (lambda v: v is None or v in ("alex", "vgg", "squeeze"), "null, alex, vgg or squeeze"),
    "save_outputs": (lambda v: v is None or _text(v), "null or a folder"),
    "retry_errors": (lambda v: isinstance(v, bool), "true or false"),
    "flops": (lambda v: isinstance(v, bool), "true or false"),
    "verify_hashes": (lambda v: isinstance(v, bool), "true or false"),
    "mask_threshold": (
        lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)),
        "null or a number",
    ),
    "allow_grey": (lambda v: isinstance(v, bool), "true or false"),
}


def _kind(v: Any) -> str:
    return type(v).__name__


def _model(entry: Any, where: str) -> ModelSpec:
    if isinstance(entry, str):
        return ModelSpec.parse(_expand(entry, where))
    if isinstance(entry, dict):
        unknown = set(entry) - {"name", "checkpoint", "options", "label", "random_weights", "seed"}
        if unknown or "name" not in entry:
            raise ConfigError(
                f"{where}: model entries need 'name' (unknown keys: {sorted(map(str, unknown))})"
            )
        rules: dict[str, tuple[Callable[[Any], bool], str]] = {
            "name": (_text, "a model name"),
            "checkpoint": (lambda v: v is None or _text(v), "null or a path/command (text)"),
            "options": (lambda v: v is None or isinstance(v, dict), "a mapping"),
            "label": (lambda v: v is None or _text(v), "null or a text label"),
            "random_weights": (lambda v: isinstance(v, bool), "true or false"),
            "seed": (lambda v: _is_int(v) and v >= 0, "an int >= 0"),
        }
        for key, (ok, expected) in rules.items():
            if key in entry and not ok(entry[key]):
                raise ConfigError(
                    f"{where}.{key}: must be {expected}, got {_kind(entry[key])} "
                    f"{short_repr(entry[key])}"
                )
        ckpt = entry.get("checkpoint")
        opts = entry.get("options") or {}
        return ModelSpec(
            entry["name"].strip(),
            _expand(ckpt, where) if ckpt is not None else None,
            dict(opts),
            entry.get("random_weights", False),
            entry.get("seed", 0),
            entry.get("label"),
        )
    raise ConfigError(
        f"{where}: model entry must be a string or a mapping, got {type(entry).__name__}"
    )


def _protocols(value: Any, where: str) -> list[str]:
    """A protocol list (a single name is refused: it would be read letter by letter)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(_text(x) for x in value):
        raise ConfigError(
            f"{where}: must be a list of protocol names (e.g. [gopro]), got "
            f"{_kind(value)} {short_repr(value)}"
        )
    return list(value)


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file, given by path or by the name of a shipped suite
    (``gopro``: ``configs/suites/gopro.yaml``, also in a regular install).

    Raises:
        UnknownNameError: no shipped suite of that name (``did you mean``).
        ConfigError: naming the file and the bad key.
    """
    from lode_bench.resources import SUITE_KIND, find_suite

    p = find_suite(path)
    doc = load_yaml_config(p, kind=SUITE_KIND, known_keys=SUITE_KEYS)
    for key in ("models", "datasets"):
        if not isinstance(doc.get(key), list) or not doc[key]:
            raise ConfigError(f"{p}: '{key}' must be a non-empty list")
    for key in ("name", "description"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise ConfigError(f"{p}: '{key}' must be text, got {_kind(doc[key])}")
    default_protos = _protocols(doc.get("protocols"), f"{p}: protocols")
    settings = doc.get("settings") or {}
    if not isinstance(settings, dict) or set(settings) - _SETTINGS:
        raise ConfigError(f"{p}: 'settings' accepts {sorted(_SETTINGS)}")
    for key, value in settings.items():
        ok, expected = _SETTING_RULES[key]
        if not ok(value):
            raise ConfigError(
                f"{p}: settings.{key}: must be {expected}, got {_kind(value)} {short_repr(value)}"
            )
    models = [_model(m, f"{p}: models[{i}]") for i, m in enumerate(doc["models"])]
    runs = []
    for i, d in enumerate(doc["datasets"]):
        where = f"{p}: datasets[{i}]"
        if isinstance(d, str):
            spec, protos, split = _expand(d, where), default_protos, None
        elif isinstance(d, dict) and "spec" in d:
            extra = set(d) - {"spec", "protocols", "split"}
            if extra:
                raise ConfigError(
                    f"{where}: unknown keys {sorted(map(str, extra))} "
                    "(allowed: spec, protocols, split)"
                )
            if not _text(d["spec"]):
                raise ConfigError(f"{where}.spec: must be 'KIND:PATH' text, got {_kind(d['spec'])}")
            spec = _expand(d["spec"], where)
            protos = _protocols(d.get("protocols"), f"{where}.protocols") or default_protos
            split = d.get("split")
            if split is not None and not _text(split):
                raise ConfigError(f"{where}.split: must be a split name, got {_kind(split)}")
        else:
            raise ConfigError(f"{where}: must be 'KIND:PATH' or a mapping with 'spec'")
        if not protos:
            raise ConfigError(
                f"{where}: no protocols (give 'protocols' for the suite or this dataset)"
            )
        for m in models:
            for proto in protos:
                runs.append(SuiteRun(m, spec, proto, split))
    return Suite(
        str(doc.get("name", p.stem)), str(doc.get("description", "")), runs, RunSettings(**settings)
    )


def output_dir(root: str | Path, run: SuiteRun) -> Path:
    """``root/<model label>/<dataset spec>/`` with both parts made file-name safe.

    A part that had to be changed gets ``~`` and 8 hex digits of the sha256 of the
    original text, so that different labels ("m x", "m_x") never share a folder."""
    import hashlib

    def slug(text: str) -> str:
        safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in text).strip("._") or "x"
        if safe == text:
            return safe
        return f"{safe[:80]}~{hashlib.sha256(text.encode()).hexdigest()[:8]}"

    return Path(root) / slug(run.model.store_label()) / slug(run.dataset)


def run_suite(
    runs: Suite | Sequence[SuiteRun],
    store: str | Path,
    *,
    settings: RunSettings | None = None,
    executor: Any = None,
    progress: bool = True,
    on_summary: Callable[[Any], None] | None = None,
    skip_unavailable: bool = True,
    **overrides: Any,
) -> list[Any]:
    """Run every job of a suite into one store, sharing one executor.

    Args:
        runs: a loaded :class:`Suite` or a list of jobs.
        store: the results store.
        settings: how to run (default: the suite's ``settings``, or the defaults for a list).
        executor: shared executor (default: a local thread pool of ``settings.workers``).
        progress: stage lines and progress.
        on_summary: called with each :class:`~lode_bench.bench.runner.RunSummary` as it finishes.
        skip_unavailable: a model that cannot be loaded (missing checkpoint...) becomes a
            summary with ``skipped`` set instead of stopping the suite.
        **overrides: settings changed on top of ``settings`` (``limit=2``...).
            ``settings.save_outputs`` is the root of ``<root>/<model>/<dataset>/<id>.png``.

    Returns:
        The run summaries, in job order.
    """
    from lode_bench.bench.runner import ModelUnavailableError, RunSummary, run_benchmark
    from lode_bench.parallel.executor import LocalExecutor

    if isinstance(runs, Suite):
        base = settings if settings is not None else runs.settings
        jobs: Sequence[SuiteRun] = runs.runs
    else:
        base = settings if settings is not None else RunSettings()
        jobs = runs
    cfg = base.replace(**overrides)
    ex = executor or LocalExecutor(cfg.workers)
    out = []
    unavailable: dict[str, str] = {}
    try:
        for job in jobs:
            save_dir = output_dir(cfg.save_outputs, job) if cfg.save_outputs is not None else None
            key = repr(job.model)
            if key in unavailable:
                summ = _skipped(RunSummary, job, unavailable[key])
            else:
                try:
                    summ = run_benchmark(
                        job.model,
                        job.dataset,
                        job.protocol,
                        store,
                        progress=progress,
                        executor=ex,
                        settings=cfg.replace(split=job.split, save_outputs=save_dir),
                    )
                except ModelUnavailableError as exc:
                    if not skip_unavailable:
                        raise
                    unavailable[key] = str(exc)
                    summ = _skipped(RunSummary, job, str(exc))
            out.append(summ)
            if on_summary is not None:
                on_summary(summ)
    finally:
        if executor is None:
            ex.close()
    return out


def _skipped(cls: Any, job: SuiteRun, why: str) -> Any:
    """The summary of a job whose model could not be loaded."""
    return cls(
        run_id="",
        model=job.model.store_label(),
        dataset=job.dataset,
        dataset_hash="",
        protocol=job.protocol,
        skipped=why,
    )
