"""Benchmark of ``lode_bench.align``: local-blur registration at three sizes, then scenarios.

Part 1 (``--sizes``, default 640×480, 1280×720 and 2152×1436, the ReLoBlur size):
mask-weighted registration (``align_masked``, what ``align --local`` runs) against
plain ``cv2.findTransformECC`` from identity on the same local-blur pairs, with one
worker (CPU seconds per pair, OpenCV on one thread; CPU time is what the two compete
for, so it is steadier than wall time on a shared machine) and with two worker
processes (wall seconds per pair over the batch), plus corner errors of both.

Part 2, at 1280×720 (skipped with ``--sizes-only``):

Pairs are simulated from real photographs (the two real 1280×720-class photos in
``tests/data/align`` and scikit-image's sample photographs, resized to cover the
frame) with :func:`lode_bench.align.simulate.simulate_pair`: a random homography
(corners moved by up to 8 px), per-channel exposure change, noise σ = 2 grey levels
and, in the local scenario, an object covering 5–30 % of the frame that moves during
the exposure (seen at exposure start in the sharp image). The large-offset scenario
adds a random translation of up to ±40 px. The centroid scenario blurs a photograph
with a known one-sided motion kernel and measures the recovered kernel centroid.

Times are CPU seconds (one OpenCV thread). Reference, measured in the same run on the same pairs: plain
``cv2.findTransformECC`` (homography, from identity, full resolution, the same
iteration limit and tolerance, no mask).

Usage::

    python benchmarks/bench_align.py [--trials 8] [--threads 1] [--workers 1,2]
        [--sizes 640x480,1280x720,2152x1436] [--sizes-only]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from lode_bench.align import AlignConfig, align_pair
from lode_bench.align.centroid import estimate_kernel, kernel_centroid
from lode_bench.align.geometric import GeometricConfig, align_masked, estimate_warp
from lode_bench.align.simulate import random_homography, simulate_pair
from lode_bench.align.transforms import corner_errors, translation_warp
from lode_bench.io import read_image
from lode_bench.io.grey import grey_float as to_grey

H, W = 720, 1280
DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "align"


def scenes() -> list[np.ndarray]:
    """Real photographs resized to 1400×840 (room for the warp margin and offsets)."""
    imgs = [
        read_image(DATA / "nafnet_demo_blurry.jpg"),
        read_image(DATA / "srn_deblur_4c6.png"),
        data.astronaut(),
        data.coffee(),
        data.rocket(),
        data.chelsea(),
    ]
    return [cv2.resize(i, (1400, 840), interpolation=cv2.INTER_CUBIC) for i in imgs]


def _worker_init() -> None:
    cv2.setNumThreads(1)


def _ours_job(pair: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return align_masked(pair[0], pair[1], GeometricConfig()).warp


def _plain_job(pair: tuple[np.ndarray, np.ndarray]) -> np.ndarray | None:
    return plain_ecc(pair[0], pair[1], GeometricConfig())[0]


def local_pairs(shape: tuple[int, int], trials: int, seed: int) -> list:
    """Local-blur pairs of ``shape`` from the real photographs (resized to cover the frame)."""
    h, w = shape
    sc = [cv2.resize(i, (w + 120, h + 100), interpolation=cv2.INTER_CUBIC) for i in scenes()]
    tex = [data.coffee(), data.astronaut(), data.chelsea()]
    rng = np.random.default_rng(seed)
    return [
        simulate_pair(
            sc[i % len(sc)],
            shape,
            rng,
            object_fraction=float(rng.uniform(0.05, 0.30)),
            object_texture=tex[i % 3],
            sharp_moment=-0.5,
            motion_length=float(rng.uniform(30, 60)) * max(1.0, w / 1280),
        )
        for i in range(trials)
    ]


def run_sizes(sizes: list[tuple[int, int]], trials: int, seed: int, workers: list[int]) -> None:
    """Local-mode registration vs plain ECC at each size, one and several workers."""
    cfg = GeometricConfig()
    for h, w in sizes:
        pairs = local_pairs((h, w), trials, seed)
        print(f"\n== local blur, {trials} pairs of {w}×{h} ==")
        for n_workers in workers:
            if n_workers == 1:
                ours_t, ref_t, ours_w, ref_w = [], [], [], []
                wall = [0.0, 0.0]
                for p in pairs:
                    t0, w0 = time.process_time(), time.perf_counter()
                    ours_w.append(align_masked(p.blur, p.sharp, cfg).warp)
                    ours_t.append(time.process_time() - t0)
                    wall[0] += time.perf_counter() - w0
                    w0 = time.perf_counter()
                    wr, tr = plain_ecc(p.blur, p.sharp, cfg)
                    wall[1] += time.perf_counter() - w0
                    ref_w.append(wr)
                    ref_t.append(tr)
                unit = (
                    f"CPU; wall {wall[0] / len(pairs) * 1000:.0f} vs "
                    f"{wall[1] / len(pairs) * 1000:.0f} ms"
                )
            else:
                jobs = [(p.blur, p.sharp) for p in pairs]
                with ProcessPoolExecutor(n_workers, initializer=_worker_init) as ex:
                    list(ex.map(_plain_job, jobs[:n_workers]))  # start-up excluded
                    t0 = time.perf_counter()
                    ours_w = list(ex.map(_ours_job, jobs))
                    ours_t = [(time.perf_counter() - t0) / len(jobs)]
                    t0 = time.perf_counter()
                    ref_w = list(ex.map(_plain_job, jobs))
                    ref_t = [(time.perf_counter() - t0) / len(jobs)]
                unit = "wall"
            oe = [corner_errors(x, p.warp, (h, w)) for x, p in zip(ours_w, pairs, strict=True)]
            re_ = [
                None if x is None else corner_errors(x, p.warp, (h, w))
                for x, p in zip(ref_w, pairs, strict=True)
            ]
            print(
                f"  {n_workers} worker(s): lode-bench {np.mean(ours_t) * 1000:8.0f} ms/pair, "
                f"plain ECC {np.mean(ref_t) * 1000:8.0f} ms/pair ({unit}); "
                f"time ratio lode-bench / plain ECC = {np.mean(ours_t) / np.mean(ref_t):.2f}"
            )
            if n_workers == workers[0]:
                print(f"    lode-bench : {summarize(oe)}")
                print(f"    plain ECC  : {summarize(re_)}")


def plain_ecc(
    blur: np.ndarray, sharp: np.ndarray, cfg: GeometricConfig
) -> tuple[np.ndarray | None, float]:
    """cv2.findTransformECC from identity at full resolution; (warp or None, seconds)."""
    t0 = time.process_time()
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, cfg.iterations, cfg.eps)
    try:
        _, w = cv2.findTransformECC(  # type: ignore[call-overload]
            to_grey(blur),
            to_grey(sharp),
            np.eye(3, dtype=np.float32),
            cv2.MOTION_HOMOGRAPHY,
            crit,
            None,
            cfg.gauss_filt_size,
        )
        out: np.ndarray | None = w.astype(np.float64)
    except cv2.error:
        out = None
    return out, time.process_time() - t0


def summarize(errs: list[np.ndarray | None]) -> str:
    ok = [e for e in errs if e is not None]
    fails = len(errs) - len(ok)
    if not ok:
        return f"all {fails} failed"
    e = np.concatenate(ok)
    return (
        f"median {np.median(e):7.3f} px  p95 {np.percentile(e, 95):7.3f} px  "
        f"max {e.max():8.3f} px  failed {fails}/{len(errs)}"
    )


def run(trials: int, seed: int) -> None:
    cfg = GeometricConfig()
    sc = scenes()
    tex = [data.coffee(), data.astronaut(), data.chelsea()]
    rng = np.random.default_rng(seed)
    warm = simulate_pair(sc[0], (H, W), np.random.default_rng(0))  # first-call set-up excluded
    estimate_warp(warm.blur, warm.sharp, cfg)
    plain_ecc(warm.blur, warm.sharp, cfg)
    scenarios = ("global", "local", "large-offset")
    for scenario in scenarios:
        ours_err: list[np.ndarray | None] = []
        ref_err: list[np.ndarray | None] = []
        ours_t, ref_t, full_t, ious, photo = [], [], [], [], []
        for i in range(trials):
            kw: dict = {}
            if scenario == "local":
                kw = dict(
                    object_fraction=float(rng.uniform(0.05, 0.30)),
                    object_texture=tex[i % 3],
                    sharp_moment=-0.5,
                    motion_length=float(rng.uniform(30, 60)),
                )
            if scenario == "large-offset":
                d = rng.uniform(-40, 40, 2)
                kw = dict(warp=translation_warp(*d) @ random_homography((H, W), rng, 8.0))
            p = simulate_pair(sc[i % len(sc)], (H, W), rng, **kw)
            t0 = time.process_time()
            res = (
                align_masked(p.blur, p.sharp, cfg)
                if scenario == "local"
                else estimate_warp(p.blur, p.sharp, cfg)
            )
            ours_t.append(time.process_time() - t0)
            ours_err.append(corner_errors(res.warp, p.warp, (H, W)))
            w_ref, t_ref = plain_ecc(p.blur, p.sharp, cfg)
            ref_t.append(t_ref)
            ref_err.append(None if w_ref is None else corner_errors(w_ref, p.warp, (H, W)))
            if scenario == "local":
                t0 = time.process_time()
                out = align_pair(p.blur, p.sharp, AlignConfig(local=True))
                full_t.append(time.process_time() - t0)
                if out is not None and out.mask is not None:
                    y0, y1, x0, x1 = out.record.crop
                    gt = p.moving[y0:y1, x0:x1]
                    ious.append((gt & out.mask).sum() / max((gt | out.mask).sum(), 1))
                    x = p.sharp[40:-40, 40:-40].reshape(-1, 3).astype(np.float64)
                    fitted = (
                        x / 255 * np.array(out.record.gain) + np.array(out.record.offset)
                    ) * 255
                    photo.append(np.abs(fitted - (x - p.offset) / p.gain).mean())
        print(f"\n== {scenario}: {trials} pairs of {W}×{H} ==")
        print(f"  lode-bench align : {summarize(ours_err)}  time/pair {np.mean(ours_t):.3f} s")
        print(f"  plain cv2 ECC    : {summarize(ref_err)}  time/pair {np.mean(ref_t):.3f} s")
        print(f"  time ratio (plain ECC / lode-bench) = {np.mean(ref_t) / np.mean(ours_t):.2f}")
        if full_t:
            print(
                f"  full align_pair (registration + photometric + mask + crop): "
                f"{np.mean(full_t):.3f} s/pair"
            )
            print(
                f"  mask IoU: min {min(ious):.3f} median {np.median(ious):.3f}; "
                f"photometric error (mean |fitted − true|): max over pairs {max(photo):.3f} grey levels"
            )


def line_kernel(rng: np.random.Generator, size: int = 65) -> np.ndarray:
    """A one-sided motion kernel starting at the centre: random direction, 8–30 px long."""
    k = np.zeros((size, size))
    r = size // 2
    length, ang = rng.uniform(8, 30), rng.uniform(0, 2 * np.pi)
    for t in np.linspace(0, 1, 600):
        x, y = r + t * length * np.cos(ang), r + t * length * np.sin(ang)
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        k[y0 : y0 + 2, x0 : x0 + 2] += np.array(
            [[(1 - fx) * (1 - fy), fx * (1 - fy)], [(1 - fx) * fy, fx * fy]]
        )
    return k / k.sum()


def run_centroid(trials: int, seed: int) -> None:
    """Known kernel offset recovered by centroid alignment (blur = sharp ⊛ K, 1280×720)."""
    sc = scenes()
    rng = np.random.default_rng(seed)
    errs, times = [], []
    for i in range(trials):
        k = line_kernel(rng)
        s = sc[i % len(sc)][:H, :W].astype(np.float64)
        b = cv2.filter2D(s, -1, np.ascontiguousarray(k[::-1, ::-1]), borderType=cv2.BORDER_REFLECT)
        to8 = lambda x: np.rint(np.clip(x + rng.normal(0, 2, x.shape), 0, 255)).astype(np.uint8)  # noqa: E731
        blur, sharp = to8(b), to8(s)
        t0 = time.process_time()
        est = estimate_kernel(blur, sharp, size=65)
        times.append(time.process_time() - t0)
        errs.append(np.hypot(*np.subtract(kernel_centroid(est), kernel_centroid(k))))
    print(f"\n== centroid: {trials} pairs of {W}×{H}, one-sided motion kernels 8–30 px ==")
    print(
        f"  centroid error: median {np.median(errs):.3f} px  max {max(errs):.3f} px  "
        f"kernel estimation {np.mean(times):.3f} s/pair (65×65)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1, help="OpenCV threads (default 1)")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--sizes", default="640x480,1280x720,2152x1436", help="W×H list for part 1")
    ap.add_argument("--workers", default="1,2", help="worker counts for part 1")
    ap.add_argument("--sizes-only", action="store_true", help="skip part 2")
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    print(f"OpenCV {cv2.__version__}, {args.threads} thread(s)")
    sizes = [tuple(int(v) for v in s.lower().split("x"))[::-1] for s in args.sizes.split(",") if s]
    run_sizes(sizes, args.trials, args.seed, [int(v) for v in args.workers.split(",")])  # type: ignore[arg-type]
    if not args.sizes_only:
        run(args.trials, args.seed)
        run_centroid(args.trials, args.seed)


if __name__ == "__main__":
    main()
