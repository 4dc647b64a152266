"""Train ``lode-tiny``, the demo's small learned deblurring model, on built-in synthetic data.

``python -m lode_bench.models.train_demo --out DIR`` reproduces the shipped weights
(``lode_bench/data/models/lode-tiny.pth``) from nothing but the install:

* **Data.** A pool of global (camera pan, GoPro-style) and local (moving objects,
  LODE-style) samples from the built-in scene generator
  (:func:`lode_bench.synth.builtin_dataset.builtin_sample`) at several image sizes, with
  synthesis seed ``data_seed`` (the demo evaluates seed 0, so training and demo samples
  never share a camera trajectory, object motion or crop). Patches are cut at random;
  local patches are centred on a blurred pixel with probability ``local_focus``;
  each patch gets one of the 8 flips/rotations.
* **Model.** :class:`~lode_bench.models.archs.lode_tiny.LodeTiny` with its last
  convolution zero-initialised, so training starts from the identity and learns the
  blur-to-sharp residual.
* **Recipe.** L1 loss, Adam (betas 0.9/0.9), linear warm-up then cosine decay of the
  learning rate, gradient norm clipped to 1, a fixed number of steps. Every random draw
  is derived from ``seed`` and the step index, so a run is deterministic on one machine
  and a killed run resumes (``train_state.pt`` in the output folder) to the same weights.
* **Held-out check.** Every ``eval_every`` steps the model and the identity are scored on
  full-size validation images of a third seed (``val_seed``): PSNR on global samples,
  PSNR over the blur mask on local samples.

Outputs: ``lode-tiny.pth`` (a plain ``state_dict``, loadable with
``torch.load(weights_only=True)``) and ``training.json`` (configuration, parameter count,
wall time, validation history).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from lode_bench.errors import ConfigError
from lode_bench.io.atomic import atomic_write_bytes, atomic_write_json
from lode_bench.models.archs.lode_tiny import LODE_TINY_OPTIONS, LodeTiny
from lode_bench.synth.builtin_dataset import builtin_sample


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines the trained weights.

    Attributes:
        steps: optimisation steps.
        batch: patches per step (half global, half local).
        patch: patch side in pixels.
        lr: peak learning rate; ``lr_min`` at the end of the cosine.
        warmup: linear warm-up steps.
        seed: seed of initialisation, patch sampling and augmentation.
        data_seed: synthesis seed of the training pool.
        val_seed: synthesis seed of the validation images.
        pool_sizes: image sizes (H, W) of the training pool.
        pool_per_size: samples of each kind per pool size.
        local_focus: probability that a local patch is centred on a blurred pixel.
        val_size: (H, W) of the validation images.
        val_n: validation samples of each kind.
        eval_every: steps between validation checks (and resume checkpoints).
        threads: torch CPU threads.
    """

    steps: int = 1500
    batch: int = 8
    patch: int = 64
    lr: float = 1e-3
    lr_min: float = 1e-6
    warmup: int = 50
    seed: int = 12
    data_seed: int = 1000
    val_seed: int = 1001
    pool_sizes: tuple[tuple[int, int], ...] = ((128, 176), (192, 256), (288, 384))
    pool_per_size: int = 16
    local_focus: float = 0.75
    val_size: tuple[int, int] = (240, 320)
    val_n: int = 3
    eval_every: int = 100
    threads: int = 1

    def config_hash(self) -> str:
        """Hash of the configuration (a resume state of another configuration is refused)."""
        text = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class PoolItem:
    """One training image pair in [0, 1] float32 H×W×3, and its blurred pixels (local)."""

    blur: np.ndarray
    sharp: np.ndarray
    kind: str
    blurred: np.ndarray | None = None  # flat indices of mask > 0 (local samples)


def _to_float(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img, dtype=np.float32) / 255.0


def build_pool(
    kind: str, seed: int, sizes: Sequence[tuple[int, int]], per_size: int, *, progress: bool = False
) -> list[PoolItem]:
    """Built-in samples of one kind (``"global"`` or ``"local"``) at each size.

    Sample ``j`` of size number ``s`` is built-in sample index ``1000 * s + j`` of ``seed``.
    """
    items = []
    jobs = [
        (kind, 1000 * s + j, seed, (int(h), int(w)))
        for s, (h, w) in enumerate(sizes)
        for j in range(per_size)
    ]
    for job in tqdm(jobs, desc=f"{kind} pool", unit="sample", disable=not progress):
        res = builtin_sample(job)
        im = res["images"]
        blurred = None
        if kind == "local":
            blurred = np.flatnonzero(np.asarray(im["mask"]).reshape(-1) > 0)
        items.append(PoolItem(_to_float(im["blur"]), _to_float(im["sharp"]), kind, blurred))
    return items


def _crop(
    item: PoolItem, patch: int, rng: np.random.Generator, focus: float
) -> tuple[np.ndarray, np.ndarray]:
    h, w = item.blur.shape[:2]
    if h < patch or w < patch:
        raise ConfigError(f"pool image {h}×{w} is smaller than the {patch}px patch")
    if item.blurred is not None and item.blurred.size and rng.random() < focus:
        cy, cx = divmod(int(item.blurred[rng.integers(item.blurred.size)]), w)
        y0 = int(np.clip(cy - patch // 2, 0, h - patch))
        x0 = int(np.clip(cx - patch // 2, 0, w - patch))
    else:
        y0, x0 = int(rng.integers(h - patch + 1)), int(rng.integers(w - patch + 1))
    b = item.blur[y0 : y0 + patch, x0 : x0 + patch]
    s = item.sharp[y0 : y0 + patch, x0 : x0 + patch]
    k, flip = int(rng.integers(4)), bool(rng.integers(2))
    b, s = np.rot90(b, k), np.rot90(s, k)
    if flip:
        b, s = b[:, ::-1], s[:, ::-1]
    return b, s


def make_batch(
    pools: dict[str, list[PoolItem]], cfg: TrainConfig, step: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch of ``step`` (B×3×P×P blur and sharp), a pure function of seed and step."""
    rng = np.random.default_rng([cfg.seed, 1, step])
    blurs, sharps = [], []
    for i in range(cfg.batch):
        pool = pools["global" if i % 2 == 0 else "local"]
        b, s = _crop(pool[int(rng.integers(len(pool)))], cfg.patch, rng, cfg.local_focus)
        blurs.append(np.ascontiguousarray(b.transpose(2, 0, 1)))
        sharps.append(np.ascontiguousarray(s.transpose(2, 0, 1)))
    return torch.from_numpy(np.stack(blurs)), torch.from_numpy(np.stack(sharps))


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Learning rate of ``step`` (0-based): linear warm-up, then cosine to ``lr_min``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1.0 + math.cos(math.pi * t))


def new_model(cfg: TrainConfig) -> LodeTiny:
    """``LodeTiny`` seeded by ``cfg.seed``, last convolution zeroed (starts as the identity)."""
    torch.manual_seed(cfg.seed)
    model = LodeTiny(**LODE_TINY_OPTIONS)  # type: ignore[arg-type]
    with torch.no_grad():
        model.ending.weight.zero_()
        assert model.ending.bias is not None
        model.ending.bias.zero_()
    return model


def _psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    d = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    mse = float(d[where].mean()) if where is not None else float(d.mean())
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


def evaluate(model: LodeTiny, val: dict[str, list[dict[str, Any]]]) -> dict[str, float]:
    """Mean PSNR (dB) of model and identity: whole image (global), blur mask (local)."""
    model.eval()
    out: dict[str, float] = {}
    with torch.inference_mode():
        for kind, samples in val.items():
            got, base = [], []
            for s in samples:
                blur, sharp = _to_float(s["images"]["blur"]), _to_float(s["images"]["sharp"])
                x = torch.from_numpy(blur.transpose(2, 0, 1).copy())[None]
                y = model(x)[0].numpy().transpose(1, 2, 0)
                y = np.round(np.clip(y, 0, 1) * 255.0) / 255.0  # scored as saved (8-bit)
                where = (np.asarray(s["images"]["mask"]) > 0) if kind == "local" else None
                got.append(_psnr(y, sharp, where))
                base.append(_psnr(blur, sharp, where))
            out[f"{kind}_psnr"] = float(np.mean(got))
            out[f"{kind}_identity_psnr"] = float(np.mean(base))
            out[f"{kind}_gain_db"] = out[f"{kind}_psnr"] - out[f"{kind}_identity_psnr"]
    model.train()
    return out


def _save_torch(path: Path, obj: Any) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def train(cfg: TrainConfig, out_dir: str | Path, *, progress: bool = True) -> dict[str, Any]:
    """Train (or resume) into ``out_dir``; returns the ``training.json`` document.

    Raises:
        ConfigError: the folder holds a resume state of a different configuration.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    model = new_model(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.9))
    state_path, history, start, spent = out / "train_state.pt", [], 0, 0.0
    if state_path.is_file():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        if state.get("config_hash") != cfg.config_hash():
            raise ConfigError(
                f"{state_path}: resume state of another configuration; "
                "use another --out folder or delete the file"
            )
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optim"])
        start, spent = int(state["step"]), float(state["seconds"])
        history = json.loads(state["history"])
    pools = {
        k: build_pool(k, cfg.data_seed, cfg.pool_sizes, cfg.pool_per_size, progress=progress)
        for k in ("global", "local")
    }
    val = {
        k: [builtin_sample((k, i, cfg.val_seed, cfg.val_size)) for i in range(cfg.val_n)]
        for k in ("global", "local")
    }
    model.train()
    t0 = time.perf_counter() - spent
    bar = tqdm(total=cfg.steps, initial=start, desc="lode-tiny", unit="step", disable=not progress)
    for step in range(start, cfg.steps):
        blur, sharp = make_batch(pools, cfg, step)
        for g in opt.param_groups:
            g["lr"] = lr_at(cfg, step)
        loss = (model(blur) - sharp).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        bar.update()
        done = step + 1
        if done % cfg.eval_every == 0 or done == cfg.steps:
            row = {
                "step": done,
                "loss": float(loss.detach()),
                "seconds": round(time.perf_counter() - t0, 1),
                **{k: round(v, 4) for k, v in evaluate(model, val).items()},
            }
            history.append(row)
            bar.set_postfix(g=f"{row['global_gain_db']:+.2f}", l=f"{row['local_gain_db']:+.2f}")
            _save_torch(
                state_path,
                {
                    "model": model.state_dict(),
                    "optim": opt.state_dict(),
                    "step": done,
                    "seconds": time.perf_counter() - t0,
                    "config_hash": cfg.config_hash(),
                    "history": json.dumps(history),
                },
            )
    bar.close()
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    _save_torch(out / "lode-tiny.pth", sd)
    doc = {
        "config": dataclasses.asdict(cfg),
        "config_hash": cfg.config_hash(),
        "architecture": {
            "class": "LodeTiny",
            **{k: list(v) if isinstance(v, tuple) else v for k, v in LODE_TINY_OPTIONS.items()},
        },
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "seconds": round(time.perf_counter() - t0, 1),
        "torch": torch.__version__,
        "history": history,
    }
    atomic_write_json(out / "training.json", doc)
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m lode_bench.models.train_demo --out DIR [--steps N] ...``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path, help="output folder (resumes if present)")
    defaults = TrainConfig()
    for name in (
        "steps",
        "batch",
        "patch",
        "seed",
        "data_seed",
        "val_seed",
        "pool_per_size",
        "val_n",
        "eval_every",
        "threads",
    ):
        ap.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    ap.add_argument("--lr", type=float, default=defaults.lr)
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = vars(ap.parse_args(argv))
    out, quiet = args.pop("out"), args.pop("quiet")
    doc = train(dataclasses.replace(defaults, **args), out, progress=not quiet)
    last = doc["history"][-1] if doc["history"] else {}
    print(json.dumps({"parameters": doc["parameters"], "seconds": doc["seconds"], **last}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
