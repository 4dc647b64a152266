"""Loading published checkpoints safely and strictly.

Files are opened with ``torch.load(..., weights_only=True)`` only: a checkpoint holding an
arbitrary pickled Python object is refused (it could run code when unpickled). The
state_dict is taken from the official wrapper key (``{'G': ...}``, ``{'params': ...}``,
``{'model': ...}``, ``{'state_dict': ...}`` or bare), a ``module.`` prefix left by
``DataParallel`` is removed, and loading is ``strict``: missing, unexpected or
mis-shaped keys are reported by name.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lode_bench.errors import LodeBenchError


class CheckpointError(LodeBenchError):
    """A checkpoint file is unsafe, unreadable or does not fit the architecture."""


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _clean(text: str) -> str:
    """One line without terminal colour codes."""
    return " ".join(_ANSI.sub("", text).split())[:300]


def _unpickling_cause(exc: BaseException) -> str:
    """The reason weights-only unpickling gave, without PyTorch's advice to turn it off."""
    text = _ANSI.sub("", str(exc))
    m = re.search(r"(?i)unsupported global:?\s*(?:GLOBAL\s+)?([\w.]+)", text)
    if m:
        return (
            f"refused: it needs the Python object {m.group(1)}, a global weights-only loading does "
            "not allow (unpickling it could run code)"
        )
    m = re.search(r"Unsupported operand (\d+)", text)
    if m:
        return (
            f"not a readable PyTorch checkpoint: unsupported pickle opcode {m.group(1)} (corrupt file, or a "
            "pickle that is not a torch.save checkpoint)"
        )
    advice = (
        "weights_only",
        "weights only",
        "documentation of torch.load",
        "file an issue",
        "trusted source",
    )
    lines = [
        ln for ln in text.splitlines() if ln.strip() and not any(a in ln.lower() for a in advice)
    ]
    cause = _clean(lines[0].replace("WeightsUnpickler error:", "")) if lines else type(exc).__name__
    return f"refused by weights-only loading: {cause or type(exc).__name__}"


def read_checkpoint(path: str | Path) -> Any:
    """``torch.load`` with ``weights_only=True`` on the CPU.

    Raises:
        CheckpointError: missing file, or content that is not plain tensors/containers; the
            message names the cause (truncated archive, not a pickle, unsupported opcode,
            disallowed global) and never suggests turning weights-only loading off.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint file not found")
    try:
        with open(p, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise CheckpointError(f"{p}: cannot read the checkpoint ({exc.strerror or exc})") from None
    if not head:
        raise CheckpointError(f"{p}: not a PyTorch checkpoint (empty file)")
    is_zip, is_pickle = head.startswith(b"PK"), head[:1] == b"\x80"
    if not (is_zip or is_pickle):
        raise CheckpointError(
            f"{p}: not a PyTorch checkpoint (neither a torch.save zip archive nor a pickle)"
        )
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(f"{p}: {_unpickling_cause(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - every other failure: a damaged file, named
        what = "truncated or corrupt zip archive" if is_zip else "truncated or corrupt pickle"
        detail = _clean(str(exc).split(". ")[0]) or type(exc).__name__
        raise CheckpointError(
            f"{p}: not a readable PyTorch checkpoint ({what}: {detail})"
        ) from None


def extract_state_dict(
    obj: Any, keys: Sequence[str], *, source: str = "checkpoint"
) -> dict[str, torch.Tensor]:
    """Pick the state_dict out of a loaded checkpoint.

    Args:
        obj: what :func:`read_checkpoint` returned.
        keys: wrapper keys to try in order (``()``: ``obj`` itself is the state_dict).
        source: file name for messages.
    """
    sd: Any = obj
    if keys:
        if not isinstance(obj, Mapping):
            raise CheckpointError(
                f"{source}: expected a dict with key {keys[0]!r}, got {type(obj).__name__}"
            )
        for k in keys:
            if k in obj:
                sd = obj[k]
                break
        else:
            raise CheckpointError(
                f"{source}: none of the expected keys {list(keys)} found (top-level keys: "
                f"{sorted(map(str, obj))[:8]})"
            )
    if not isinstance(sd, Mapping):
        raise CheckpointError(f"{source}: state_dict is a {type(sd).__name__}, not a mapping")
    bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{source}: entries that are not tensors: {bad[:5]}")
    out = dict(sd)
    if out and all(k.startswith("module.") for k in out):
        out = {k[len("module.") :]: v for k, v in out.items()}
    return out


def load_state_dict_strict(
    module: nn.Module, sd: Mapping[str, torch.Tensor], *, source: str
) -> None:
    """``module.load_state_dict(sd, strict=True)`` with a readable error naming the keys."""
    own = module.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    shapes = [
        f"{k}: file {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[:3]})")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatches (e.g. {shapes[:2]})")
        raise CheckpointError(
            f"{source}: does not fit {type(module).__name__}: " + "; ".join(parts)
        )
    module.load_state_dict(dict(sd), strict=True)


def load_checkpoint_into(module: nn.Module, path: str | Path, keys: Sequence[str]) -> None:
    """Read ``path`` safely and load it strictly into ``module``."""
    sd = extract_state_dict(read_checkpoint(path), keys, source=str(path))
    load_state_dict_strict(module, sd, source=str(path))
