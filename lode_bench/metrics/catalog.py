"""The built-in metric variants: the built-ins of :data:`lode_bench.metrics.base.METRICS`.

Each :class:`~lode_bench.metrics.base.MetricSpec` points lazily (``"module:attr"``) at a
pure function of this package, so listing metrics imports neither OpenCV-heavy code
nor torch. The registry loads :func:`builtin_metric_specs` itself on its first lookup.
"""

from __future__ import annotations

import math

from lode_bench.metrics.base import MetricSpec

_M = "lode_bench.metrics"
_U8 = "H×W×3 RGB uint8 (or float with data_range); compared as given"
_INF = math.inf


def builtin_metric_specs() -> list[tuple[MetricSpec, tuple[str, ...]]]:
    """Every built-in metric spec with its aliases."""
    return [
        (
            MetricSpec(
                name="psnr",
                fn=f"{_M}.psnr:psnr",
                higher_is_better=True,
                value_range=(0.0, _INF),
                colour="RGB",
                input_rule=_U8,
                description="PSNR over H, W and the 3 channels, peak 255; inf for identical images.",
                reference="skimage peak_signal_noise_ratio(data_range=255); BasicSR calculate_psnr",
            ),
            (),
        ),
        (
            MetricSpec(
                name="psnr_y",
                fn=f"{_M}.psnr:psnr",
                higher_is_better=True,
                value_range=(0.0, _INF),
                colour="BT.601 Y (float, 16..235)",
                input_rule=_U8,
                description="PSNR on BasicSR's BT.601 luma Y = 16 + 65.481R + 128.553G + 24.966B "
                "(RGB in [0,1]), not rounded, peak 255.",
                reference="BasicSR calculate_psnr(test_y_channel=True)",
                defaults={"colour": "y"},
            ),
            (),
        ),
        (
            MetricSpec(
                name="ssim_wang",
                fn=f"{_M}.ssim:ssim_wang",
                higher_is_better=True,
                value_range=(-1.0, 1.0),
                colour="MATLAB grey (rounded)",
                input_rule=_U8,
                description="Wang et al. reference SSIM: rgb2gray rounded, 11×11 Gaussian σ=1.5, "
                "'valid' map, L=255, mean of the map; no downsampling.",
                reference="Wang et al. ssim_index.m; IQA calibration tables (TID2013)",
            ),
            (),
        ),
        (
            MetricSpec(
                name="ssim_wang_2009",
                fn=f"{_M}.ssim:ssim_wang",
                higher_is_better=True,
                value_range=(-1.0, 1.0),
                colour="MATLAB grey (rounded)",
                input_rule=_U8,
                description="Wang's 2009 ssim.m: as ssim_wang after auto-downsampling by "
                "f = max(1, round(min(H,W)/256)) (f×f box, every f-th pixel).",
                reference="Wang et al. ssim.m (2009 revision)",
                defaults={"downsample": True},
            ),
            (),
        ),
        (
            MetricSpec(
                name="ssim_gaussian",
                fn=f"{_M}.ssim:ssim_gaussian",
                higher_is_better=True,
                value_range=(-1.0, 1.0),
                colour="RGB, per channel",
                input_rule=_U8,
                description="Per-channel SSIM, 11×11 Gaussian σ=1.5, population statistics, "
                "'valid' map, mean over the map then over the 3 channels.",
                reference="BasicSR calculate_ssim, DeepDeblur-PyTorch, RealBlur, ReLoBlur; skimage "
                "gaussian_weights=True, use_sample_covariance=False",
            ),
            ("ssim_basicsr",),
        ),
        (
            MetricSpec(
                name="ssim_gaussian_y",
                fn=f"{_M}.ssim:ssim_gaussian",
                higher_is_better=True,
                value_range=(-1.0, 1.0),
                colour="BT.601 Y (float, 16..235)",
                input_rule=_U8,
                description="Gaussian SSIM ('valid', σ=1.5) on BasicSR's unrounded BT.601 Y.",
                reference="BasicSR calculate_ssim(test_y_channel=True)",
                defaults={"colour": "y"},
            ),
            (),
        ),
        (
            MetricSpec(
                name="ssim_matlab_rgb",
                fn=f"{_M}.ssim:ssim_matlab_rgb",
                higher_is_better=True,
                value_range=(-1.0, 1.0),
                colour="RGB as a 3-D volume",
                input_rule=_U8,
                description="MATLAB ssim() on the H×W×3 uint8 array: 11×11×11 Gaussian σ=1.5 "
                "across the channel axis too, replicate padding, full map averaged.",
                reference="evaluate_GOPRO_HIDE.m of MPRNet/Restormer; NAFNet ssim3d",
            ),
            ("ssim_matlab", "ssim3d"),
        ),
        (
            MetricSpec(
                name="ssim_matlab_grey",
                fn=f"{_M}.ssim:ssim_matlab_2d",
                higher_is_better=True,
                value_range=(-1.0, 1.0),
                colour="MATLAB grey (rounded)",
                input_rule=_U8,
                description="MATLAB ssim() on rgb2gray images: 11×11 Gaussian σ=1.5, replicate "
                "padding, full-size map averaged (no border crop).",
                reference="MATLAB ssim (R2014a+) on grey images",
                defaults={"padding": "replicate", "colour": "grey"},
            ),
            (),
        ),
        (
            MetricSpec(
                name="ssim_torchmetrics",
                fn=f"{_M}.ssim:ssim_matlab_2d",
                higher_is_better=True,
                value_range=(-1.0, 1.0),
                colour="MATLAB grey (rounded)",
                input_rule=_U8,
                description="torchmetrics ≥ 1.4.2 style SSIM on grey: reflect padding (edge not "
                "repeated), full-size map averaged, computed in float64.",
                reference="torchmetrics structural_similarity_index_measure",
                defaults={"padding": "reflect", "colour": "grey"},
            ),
            (),
        ),
        (
            MetricSpec(
                name="ssim_skimage",
                fn=f"{_M}.ssim:ssim_skimage_default",
                higher_is_better=True,
                value_range=(-1.0, 1.0),
                colour="RGB, per channel",
                input_rule=_U8,
                description="scikit-image defaults: 7×7 uniform window, sample covariance, "
                "'valid' map, mean over channels.",
                reference="skimage structural_similarity(data_range=255, channel_axis=2); "
                "Restormer defocus evaluation",
            ),
            (),
        ),
        (
            MetricSpec(
                name="ms_ssim",
                fn=f"{_M}.msssim:ms_ssim",
                higher_is_better=True,
                value_range=(0.0, 1.0),
                colour="MATLAB grey (rounded)",
                input_rule=_U8,
                description="Wang's MS-SSIM: 5 scales (weights .0448 .2856 .3001 .2363 .1333), "
                "2×2 mean + decimation, cs at scales 1–4 and SSIM at scale 5.",
                reference="Wang et al. msssim.m (method='product', its default)",
            ),
            (),
        ),
        (
            MetricSpec(
                name="ms_ssim_wtd_sum",
                fn=f"{_M}.msssim:ms_ssim",
                higher_is_better=True,
                value_range=(-1.0, 1.0),
                colour="MATLAB grey (rounded)",
                input_rule=_U8,
                description="Wang's MS-SSIM, weighted-sum form: the 5 weights renormalised to "
                "sum 1, Σ w_l·cs_l (scales 1–4) + w_5·SSIM_5.",
                reference="Wang et al. msssim.m method='wtd_sum'; IQA-PyTorch's published "
                "TID2013 MS-SSIM values",
                defaults={"method": "wtd_sum"},
            ),
            (),
        ),
        (
            MetricSpec(
                name="lpips_alex",
                fn=f"{_M}.lpips_metric:lpips_distance",
                higher_is_better=False,
                value_range=(0.0, _INF),
                colour="RGB in [-1, 1]",
                input_rule=_U8,
                description="LPIPS v0.1 with the AlexNet backbone (needs torchvision's ImageNet "
                "weights locally), called as (output, reference).",
                reference="lpips package (Zhang et al. 2018)",
                defaults={"net": "alex"},
            ),
            ("lpips",),
        ),
        (
            MetricSpec(
                name="lpips_vgg",
                fn=f"{_M}.lpips_metric:lpips_distance",
                higher_is_better=False,
                value_range=(0.0, _INF),
                colour="RGB in [-1, 1]",
                input_rule=_U8,
                description="LPIPS v0.1 with the VGG16 backbone (needs torchvision's ImageNet "
                "weights locally).",
                reference="lpips package (Zhang et al. 2018)",
                defaults={"net": "vgg"},
            ),
            (),
        ),
        (
            MetricSpec(
                name="lpips_squeeze",
                fn=f"{_M}.lpips_metric:lpips_distance",
                higher_is_better=False,
                value_range=(0.0, _INF),
                colour="RGB in [-1, 1]",
                input_rule=_U8,
                description="LPIPS v0.1 with the SqueezeNet 1.1 backbone (needs torchvision's "
                "ImageNet weights locally).",
                reference="lpips package (Zhang et al. 2018)",
                defaults={"net": "squeeze"},
            ),
            (),
        ),
        (
            MetricSpec(
                name="realblur_aligned",
                fn=f"{_M}.realblur:realblur_aligned",
                higher_is_better=True,
                value_range=(-1.0, _INF),
                colour="RGB in [0, 1]",
                input_rule=_U8,
                description="RealBlur protocol: intensity gain, ECC homography onto the ground "
                "truth, PSNR and per-channel SSIM over the valid warped region "
                "(also returns ecc_rho); ECC failure raises ECCAlignmentError.",
                reference="RealBlur evaluate_RealBlur.py (also RSBlur, ReLoBlur aligned PSNR)",
                outputs=("aligned_psnr", "aligned_ssim"),
                symmetric=False,
            ),
            (),
        ),
        (
            MetricSpec(
                name="realblur_aligned_reloblur",
                fn=f"{_M}.realblur:realblur_aligned",
                higher_is_better=True,
                value_range=(-1.0, _INF),
                colour="RGB in [0, 1]",
                input_rule=_U8,
                description="RealBlur alignment with ReLoBlur/LBAG's aligned PSNR: squared error "
                "averaged over all H·W·3 values (invalid warped border counts as zero "
                "error) instead of the valid ones; SSIM as realblur_aligned.",
                reference="ReLoBlur / LBAG aligned_psnr_metric",
                outputs=("aligned_psnr", "aligned_ssim"),
                symmetric=False,
                defaults={"psnr_normalisation": "all"},
            ),
            (),
        ),
        (
            MetricSpec(
                name="psnr_w",
                fn=f"{_M}.masked:psnr_w",
                higher_is_better=True,
                value_range=(0.0, _INF),
                colour="RGB",
                input_rule=_U8 + "; H×W mask (> 0)",
                description="PSNR of the masked pixels only: 10·log10(255² / (Σ(p−g)²·M / ΣM / 3)).",
                reference="ReLoBlur / LBAG weighted_psnr",
                needs_mask=True,
            ),
            (),
        ),
        (
            MetricSpec(
                name="ssim_w",
                fn=f"{_M}.masked:ssim_w",
                higher_is_better=True,
                value_range=(-1.0, 1.0),
                colour="RGB, per channel",
                input_rule=_U8 + "; H×W mask (> 0)",
                description="Per-channel Gaussian SSIM map ('valid') averaged over the mask "
                "cropped by 5 px: Σ(map·M) / ΣM / 3.",
                reference="ReLoBlur / LBAG weighted_ssim",
                needs_mask=True,
            ),
            (),
        ),
        (
            MetricSpec(
                name="local_psnr_bladenet",
                fn=f"{_M}.masked:local_psnr_bladenet_legacy",
                higher_is_better=True,
                value_range=(0.0, _INF),
                colour="RGB",
                input_rule=_U8 + "; H×W mask (> 0)",
                description="LEGACY, inflated: zeroes pixels outside the mask and averages over the "
                "whole image = psnr_w + 10·log10(1/mask fraction). Not comparable.",
                reference="BladeNet (LODE) local PSNR",
                needs_mask=True,
                legacy=True,
            ),
            (),
        ),
        *nr_metric_specs(),
    ]


_NR_IN = "H×W×3 RGB uint8 (or float with data_range); rated alone, no reference"


def nr_metric_specs() -> list[tuple[MetricSpec, tuple[str, ...]]]:
    """No-reference metrics: native NIQE (two conventions) and the pyiqa-backed ones."""
    niqe_fn, niqe_check = f"{_M}.niqe:niqe", f"{_M}.niqe:check_niqe_model"
    out: list[tuple[MetricSpec, tuple[str, ...]]] = [
        (
            MetricSpec(
                name="niqe",
                fn=niqe_fn,
                higher_is_better=False,
                value_range=(0.0, _INF),
                colour="MATLAB grey (rounded)",
                input_rule=_NR_IN,
                description="NIQE, LIVE release: rgb2gray, 96×96 blocks, two scales (MATLAB imresize "
                "0.5), 36 MSCN/AGGD features, MVG distance to the pristine model "
                "(modelparameters.mat or BasicSR's niqe_pris_params.npz, user-supplied).",
                reference="Mittal et al. 2013 niqe_release (computequality.m)",
                defaults={"convention": "live"},
                no_reference=True,
                check=niqe_check,
            ),
            ("niqe_live",),
        ),
        (
            MetricSpec(
                name="niqe_matlab",
                fn=niqe_fn,
                higher_is_better=False,
                value_range=(0.0, _INF),
                colour="MATLAB grey (rounded)",
                input_rule=_NR_IN,
                description="NIQE with MATLAB's built-in niqe() default model (not shipped: export "
                "it from MATLAB and supply the file); same features as 'niqe'.",
                reference="MATLAB Image Processing Toolbox niqe()",
                defaults={"convention": "matlab"},
                no_reference=True,
                check=niqe_check,
            ),
            (),
        ),
    ]
    nr = f"{_M}.nriqa:pyiqa_score"
    chk = f"{_M}.nriqa:check_pyiqa"
    rows = (  # name, pyiqa name, higher is better, range, description
        ("brisque", "brisque", False, (-_INF, _INF), "BRISQUE (Mittal et al. 2012) SVR on Y."),
        ("ilniqe", "ilniqe", False, (0.0, _INF), "IL-NIQE (Zhang et al. 2015), 524×524 resize."),
        ("nrqm", "nrqm", True, (0.0, 10.0), "NRQM / Ma et al. 2017 super-resolution score."),
        ("pi", "pi", False, (0.0, _INF), "Perceptual Index ((10 − NRQM) + NIQE) / 2 (PIRM 2018)."),
        ("maniqa", "maniqa", True, (0.0, 1.0), "MANIQA (Yang et al. 2022), KonIQ model."),
        ("liqe", "liqe", True, (1.0, 5.0), "LIQE (Zhang et al. 2023), KonIQ model, CLIP ViT-B/32."),
        ("clipiqa", "clipiqa", True, (0.0, 1.0), "CLIP-IQA (Wang et al. 2023), CLIP RN50 prompts."),
        ("musiq", "musiq", True, (0.0, 100.0), "MUSIQ (Ke et al. 2021), KonIQ model."),
    )
    for name, pname, hib, rng, desc in rows:
        out.append(
            (
                MetricSpec(
                    name=name,
                    fn=nr,
                    higher_is_better=hib,
                    value_range=rng,
                    colour="RGB in [0, 1]",
                    input_rule=_NR_IN + "; passed to pyiqa as float32 / 255",
                    description=desc + f" Through pyiqa {pname!r}; weights from the local folder.",
                    reference=f"IQA-PyTorch (pyiqa) '{pname}'",
                    defaults={"name": pname},
                    no_reference=True,
                    check=chk,
                ),
                ("clip_iqa",) if name == "clipiqa" else (),
            )
        )
    return out
