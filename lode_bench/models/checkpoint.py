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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lode_bench.errors import LodeBenchError


class CheckpointError(LodeBenchError):
    """A checkpoint file is unsafe, unreadable or does not fit the architecture."""


def read_checkpoint(path: str | Path) -> Any:
    """``torch.load`` with ``weights_only=True`` on the CPU.

    Raises:
        CheckpointError: missing file, or content that is not plain tensors/containers.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint file not found")
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{p}: refused: the file contains Python objects other than tensors and plain "
            f"containers, which weights-only loading does not allow ({str(exc).splitlines()[0]})"
        ) from exc
    except (RuntimeError, EOFError, ValueError, OSError) as exc:
        raise CheckpointError(f"{p}: not a readable PyTorch checkpoint ({exc})") from exc


def extract_state_dict(obj: Any, keys: Sequence[str], *, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Pick the state_dict out of a loaded checkpoint.

    Args:
        obj: what :func:`read_checkpoint` returned.
        keys: wrapper keys to try in order (``()``: ``obj`` itself is the state_dict).
        source: file name for messages.
    """
    sd: Any = obj
    if keys:
        if not isinstance(obj, Mapping):
            raise CheckpointError(f"{source}: expected a dict with key {keys[0]!r}, got {type(obj).__name__}")
        for k in keys:
            if k in obj:
                sd = obj[k]
                break
        else:
            raise CheckpointError(
                f"{source}: none of the expected keys {list(keys)} found (top-level keys: "
                f"{sorted(map(str, obj))[:8]})")
    if not isinstance(sd, Mapping):
        raise CheckpointError(f"{source}: state_dict is a {type(sd).__name__}, not a mapping")
    bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{source}: entries that are not tensors: {bad[:5]}")
    out = dict(sd)
    if out and all(k.startswith("module.") for k in out):
        out = {k[len("module."):]: v for k, v in out.items()}
    return out


def load_state_dict_strict(module: nn.Module, sd: Mapping[str, torch.Tensor], *, source: str) -> None:
    """``module.load_state_dict(sd, strict=True)`` with a readable error naming the keys."""
    own = module.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    shapes = [f"{k}: file {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[:3]})")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatches (e.g. {shapes[:2]})")
        raise CheckpointError(f"{source}: does not fit {type(module).__name__}: " + "; ".join(parts))
    module.load_state_dict(dict(sd), strict=True)


def load_checkpoint_into(module: nn.Module, path: str | Path, keys: Sequence[str]) -> None:
    """Read ``path`` safely and load it strictly into ``module``."""
    sd = extract_state_dict(read_checkpoint(path), keys, source=str(path))
    load_state_dict_strict(module, sd, source=str(path))
