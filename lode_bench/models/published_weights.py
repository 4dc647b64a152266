"""The built-in weight cards: every published file the architectures load, with its facts.

Sources of the numbers: the official repositories' README tables (read directly), the
papers' tables where those are cited and could be checked against the project's
reference notes, and otherwise the papers' tables marked ``confirmed=False``.
Torch-free (listing cards imports no torch).
"""

from __future__ import annotations

from lode_bench.models.weights import Published, WeightCard

_NAF_URL = "https://github.com/megvii-research/NAFNet"
_NAF_SRC = "NAFNet README results table (ECCV 2022 paper, Table: GoPro / REDS)"
_NAF_TEST = (
    "official test config options/test/{set}/{cfg}.yml: network_g {arch} (test-time local "
    "converter: train_size 256×256, base size 1.5×, fast_imp false); RGB in [0, 1]; the model "
    "zero-pads H and W to a multiple of 16 itself and crops; BasicSR test.py scores the output "
    "after tensor2img (clamped to [0, 1], rounded to 8 bits): calculate_psnr on RGB "
    "(crop_border 0) and calculate_ssim with ssim3d=True (MATLAB ssim() on the RGB volume) "
    "= protocol 'gopro'; checkpoint {{'params': state_dict}}"
)
_NAF_W64 = {
    "width": 64,
    "enc_blk_nums": (1, 1, 1, 28),
    "middle_blk_num": 1,
    "dec_blk_nums": (1, 1, 1, 1),
}
_NAF_W32 = {**_NAF_W64, "width": 32}

_RST_URL = "https://github.com/swz30/Restormer"
_RST_OPTS = {
    "dim": 48,
    "num_blocks": (4, 6, 6, 8),
    "num_refinement_blocks": 4,
    "heads": (1, 2, 4, 8),
    "ffn_expansion_factor": 2.66,
    "bias": False,
    "LayerNorm_type": "WithBias",
    "dual_pixel_task": False,
}

_MIMO_URL = "https://github.com/chosj95/MIMO-UNet"
_MIMO_SRC = "MIMO-UNet README Performance table (ICCV 2021 paper, GoPro table)"
_MIMO_TEST = (
    "official eval.py: RGB in [0, 1] (PIL + to_tensor), no padding (GoPro frames are "
    "multiples of 4; lode-bench reflect-pads to 4 for other sizes), output = full-scale "
    "output (index 2) clamped to [0, 1]; PSNR by skimage peak_signal_noise_ratio on the "
    "float output (not rounded to 8 bits; saved PNGs add 0.5/255 before truncation); the "
    "script prints no SSIM; checkpoint {'model': state_dict}"
)

_DD_URL = "https://github.com/SeungjunNah/DeepDeblur-PyTorch"
_DD_SRC = "DeepDeblur-PyTorch README Results tables"
_DD_TEST = (
    "official main.py evaluation: RGB in 0-255, Gaussian pyramid input (3 scales), edge "
    "padding to a multiple of 4 then cropped, outputs rounded to 8 bits; PSNR on RGB and "
    "per-channel Gaussian SSIM = protocol 'deepdeblur'; checkpoint {'G': state_dict}"
)
_DD_HALF = (
    " --precision half (the README's demo mode for this file) runs weights and inputs in "
    "float16: option precision=half (CUDA only). The published numbers come from the "
    "training run's evaluation under autocast (--amp true keeps precision single), which "
    "is lode-bench --amp on CUDA."
)

_BLADE_TEST = (
    "official eval.py: BGR in [0, 1] (cv2.imread), no padding (the up-blocks pad like the "
    "code does), sigmoid output, util.tensor2uint (8 bits); PSNR/SSIM on the whole image and "
    "'local' PSNR/SSIM inside the blur mask (protocol 'lode-legacy' for the latter). No "
    "checkpoint is published in the repository (its readme links none)."
)
_BLADE_ABLATION = (
    "readme 'module selection' table (UNet(BladeNet-) / BSA only / LBP only / BladeNet); "
    "published PSNRs of the ablations are in the paper's ablation table, not recorded here"
)

WEIGHT_CARDS: tuple[WeightCard, ...] = (
    # --- NAFNet ---------------------------------------------------------------------
    WeightCard(
        arch="nafnet",
        tag="gopro-width32",
        training_set="GoPro train (2,103 pairs, 'blur' track)",
        file="NAFNet-GoPro-width32.pth",
        options=_NAF_W32,
        weights_url=_NAF_URL,
        description="NAFNet width 32 with the test-time local converter, GoPro weights.",
        conventions=_NAF_TEST.format(set="GoPro", cfg="NAFNet-width32", arch="NAFNetLocal"),
        published=(Published("GoPro test (1,111 pairs)", 32.8705, 0.9606, "gopro", _NAF_SRC),),
    ),
    WeightCard(
        arch="nafnet",
        tag="gopro-width64",
        training_set="GoPro train (2,103 pairs, 'blur' track)",
        file="NAFNet-GoPro-width64.pth",
        options=_NAF_W64,
        weights_url=_NAF_URL,
        description="NAFNet width 64 with the test-time local converter, GoPro weights.",
        conventions=_NAF_TEST.format(set="GoPro", cfg="NAFNet-width64", arch="NAFNetLocal"),
        published=(
            Published(
                "GoPro test (1,111 pairs)",
                33.7103,
                0.9668,
                "gopro",
                _NAF_SRC,
                note="33.08 dB with the plain model (no local converter), NAFNet issue #73",
            ),
        ),
    ),
    WeightCard(
        arch="nafnet",
        tag="reds-width64",
        training_set="REDS train, JPEG-compressed blur (train_blur_jpeg)",
        file="NAFNet-REDS-width64.pth",
        options=_NAF_W64,
        weights_url=_NAF_URL,
        description="NAFNet width 64 with the test-time local converter, REDS (JPEG blur) weights.",
        conventions=_NAF_TEST.format(set="REDS", cfg="NAFNet-width64", arch="NAFNetLocal")
        + "; test set REDS val300 (blur_300 / sharp_300 lmdb)",
        published=(
            Published("REDS val 300 (JPEG-compressed blur)", 29.0903, 0.8671, "gopro", _NAF_SRC),
        ),
    ),
    WeightCard(
        arch="nafnet-baseline",
        tag="gopro-width32",
        training_set="GoPro train (2,103 pairs, 'blur' track)",
        file="Baseline-GoPro-width32.pth",
        options={**_NAF_W32, "dw_expand": 1, "ffn_expand": 2},
        description="NAFNet paper's simple baseline width 32 (dw_expand 1) with the local converter, GoPro weights.",
        weights_url=_NAF_URL,
        conventions=_NAF_TEST.format(set="GoPro", cfg="Baseline-width32", arch="BaselineLocal"),
        published=(Published("GoPro test (1,111 pairs)", 32.4799, 0.9575, "gopro", _NAF_SRC),),
    ),
    WeightCard(
        arch="nafnet-baseline",
        tag="gopro-width64",
        training_set="GoPro train (2,103 pairs, 'blur' track)",
        file="Baseline-GoPro-width64.pth",
        options={**_NAF_W64, "dw_expand": 2, "ffn_expand": 2},
        description="NAFNet paper's simple baseline width 64 (dw_expand 2) with the local converter, GoPro weights.",
        weights_url=_NAF_URL,
        conventions=_NAF_TEST.format(set="GoPro", cfg="Baseline-width64", arch="BaselineLocal"),
        published=(Published("GoPro test (1,111 pairs)", 33.3960, 0.9649, "gopro", _NAF_SRC),),
    ),
    # --- Restormer ------------------------------------------------------------------
    WeightCard(
        arch="restormer",
        tag="motion",
        aliases=("restormer.gopro",),
        training_set="GoPro train (2,103 pairs)",
        file="motion_deblurring.pth",
        options=_RST_OPTS,
        description="Restormer (dim 48, blocks 4/6/6/8), motion-deblurring weights (GoPro).",
        weights_url=_RST_URL,
        conventions=(
            "official Motion_Deblurring/test.py with Deblurring_Restormer.yml: RGB in [0, 1], "
            "reflect padding to a multiple of 8 then cropped, output clamped to [0, 1] and saved "
            "with img_as_ubyte (8 bits); GoPro/HIDE scored by evaluate_gopro_hide.m (protocol "
            "'gopro'), RealBlur by evaluate_realblur.py (protocol 'realblur'); checkpoint "
            "{'params': state_dict}; no patch-embedding bias"
        ),
        published=(
            Published(
                "GoPro test",
                32.92,
                None,
                "gopro",
                "Restormer paper Table 2",
                note="paper SSIM 0.961 not re-checked here",
            ),
            Published(
                "HIDE test",
                31.22,
                None,
                "gopro",
                "Restormer paper Table 2",
                note="paper SSIM 0.942 not re-checked here",
            ),
            Published(
                "RealBlur-J test",
                28.96,
                None,
                "realblur",
                "Restormer paper Table 2",
                note="trained on GoPro only; paper SSIM 0.879 not re-checked here",
            ),
            Published(
                "RealBlur-R test",
                36.19,
                0.957,
                "realblur",
                "Restormer paper Table 2",
                confirmed=False,
                note="trained on GoPro only",
            ),
        ),
    ),
    WeightCard(
        arch="restormer",
        tag="defocus-single",
        aliases=("restormer.dpdd-single",),
        training_set="DPDD train, single-image (centre view 'inputC', 8-bit)",
        file="single_image_defocus_deblurring.pth",
        options=_RST_OPTS,
        weights_url=_RST_URL,
        description="Restormer (dim 48, blocks 4/6/6/8), single-image defocus deblurring weights (DPDD).",
        conventions=(
            "official Defocus_Deblurring/test_single_image_defocus_deblur.py with "
            "DefocusDeblur_Single_8bit_Restormer.yml: RGB in [0, 1], no padding (DPDD frames "
            "1680×1120 are multiples of 8; lode-bench reflect-pads other sizes to 8), output "
            "clamped to [0, 1] and scored in float (not rounded): PSNR with peak 1, skimage "
            "structural_similarity defaults (7×7 uniform window, metric 'ssim_skimage'), MAE and "
            "LPIPS-alex; means over all, indoor and outdoor scenes; checkpoint {'params': ...}"
        ),
        published=(
            Published(
                "DPDD test, combined (76 scenes)",
                25.98,
                0.811,
                "",
                "Restormer paper Table 3 (single-image defocus)",
                confirmed=False,
                note="no lode-bench protocol scores float outputs with skimage SSIM exactly; "
                "paper also gives MAE 0.038, LPIPS 0.178",
            ),
        ),
    ),
    # --- MIMO-UNet ------------------------------------------------------------------
    WeightCard(
        arch="mimo-unet",
        tag="gopro",
        training_set="GoPro train (2,103 pairs)",
        file="MIMO-UNet.pkl",
        weights_url=_MIMO_URL,
        conventions=_MIMO_TEST,
        published=(
            Published(
                "GoPro test (1,111 pairs)",
                31.73,
                0.951,
                "",
                _MIMO_SRC,
                note="PSNR on float outputs; SSIM implementation not stated",
            ),
        ),
    ),
    WeightCard(
        arch="mimo-unet-plus",
        tag="gopro",
        training_set="GoPro train (2,103 pairs)",
        file="MIMO-UNetPlus.pkl",
        weights_url=_MIMO_URL,
        conventions=_MIMO_TEST,
        published=(
            Published(
                "GoPro test (1,111 pairs)",
                32.45,
                0.957,
                "",
                _MIMO_SRC,
                note="PSNR on float outputs; SSIM implementation not stated",
            ),
        ),
    ),
    WeightCard(
        arch="mimo-unet-plus",
        tag="realblur",
        training_set="RealBlur train (README: 'MIMO-UNet+ (RealBlur)')",
        file="README link 'MIMO-UNet+ (RealBlur)' (file name not stated)",
        weights_url=_MIMO_URL,
        conventions=(
            "as the GoPro file for the network; scored with the official RealBlur test code "
            "(README note) = protocol 'realblur'"
        ),
        published=(
            Published(
                "RealBlur-J test",
                31.92,
                0.919,
                "realblur",
                "MIMO-UNet paper, RealBlur table",
                confirmed=False,
                note="which RealBlur subset the file was trained on is not "
                "stated in the repository",
            ),
        ),
    ),
    WeightCard(
        arch="mimo-unet-plusplus",
        tag="gopro",
        training_set="GoPro train (2,103 pairs)",
        file="MIMO-UNetPlus.pkl (the MIMO-UNet+ file)",
        weights_url=_MIMO_URL,
        conventions=(
            "MIMO-UNet+ weights with geometric self-ensemble at test time; the official code for "
            "it is unpublished (README: 'batch inference, two times with batch size of 2'); the "
            "card uses the 8 flips/rotations of EDSR's self-ensemble, option transforms=4 keeps "
            "only the orientation-preserving four. " + _MIMO_TEST
        ),
        published=(
            Published(
                "GoPro test (1,111 pairs)",
                32.68,
                0.959,
                "",
                _MIMO_SRC,
                note="PSNR on float outputs; SSIM implementation not stated",
            ),
        ),
    ),
    # --- DeepDeblur -----------------------------------------------------------------
    WeightCard(
        arch="deepdeblur",
        tag="gopro",
        training_set="GOPRO_Large train, blur_gamma track (L1 loss, fp32)",
        file="GOPRO_L1 (experiment folder, models/model-*.pt)",
        weights_url=_DD_URL,
        conventions=_DD_TEST,
        published=(
            Published(
                "GOPRO_Large test, blur_gamma",
                30.40,
                0.9018,
                "deepdeblur",
                _DD_SRC,
                note="paper (MATLAB SSIM): SSIM 0.9135",
            ),
        ),
    ),
    WeightCard(
        arch="deepdeblur",
        tag="reds",
        training_set="REDS train (L1 loss, fp32)",
        file="REDS_L1 (experiment folder)",
        weights_url=_DD_URL,
        conventions=_DD_TEST
        + "; REDS numbers are on the validation set (trained with --do_test false)",
        published=(Published("REDS val", 32.89, 0.9207, "deepdeblur", _DD_SRC),),
    ),
    WeightCard(
        arch="deepdeblur",
        tag="gopro-amp",
        training_set="GOPRO_Large train, blur_gamma (L1, mixed precision)",
        file="GOPRO_L1_amp (experiment folder)",
        weights_url=_DD_URL,
        conventions=_DD_TEST + "." + _DD_HALF,
        published=(
            Published("GOPRO_Large test, blur_gamma", 30.42, 0.9021, "deepdeblur", _DD_SRC),
        ),
    ),
    WeightCard(
        arch="deepdeblur",
        tag="reds-amp",
        training_set="REDS train (L1, mixed precision)",
        file="REDS_L1_amp (experiment folder)",
        weights_url=_DD_URL,
        conventions=_DD_TEST + "." + _DD_HALF,
        published=(Published("REDS val", 32.95, 0.9209, "deepdeblur", _DD_SRC),),
    ),
    WeightCard(
        arch="deepdeblur",
        tag="reds-amp-gopro-pretrained",
        training_set="REDS train (L1, mixed precision), initialised from the GOPRO_Large model",
        file="REDS_L1_amp_pretrained (experiment folder)",
        weights_url=_DD_URL,
        conventions=_DD_TEST + "." + _DD_HALF,
        published=(Published("REDS val", 33.13, 0.9237, "deepdeblur", _DD_SRC),),
    ),
    # --- BladeNet ablations (no weights published) ------------------------------------
    WeightCard(
        arch="bladenet",
        tag="unet",
        training_set="LODE synthetic local blur + REDS (paper)",
        file="",
        options={"usingMask": False, "usingSA": False},
        conventions=_BLADE_TEST + " " + _BLADE_ABLATION,
        description="BladeNet ablation UNet (BladeNet-): deblurring U-Net alone, no mask network, "
        "plain up-blocks; BGR input.",
    ),
    WeightCard(
        arch="bladenet",
        tag="bsa-only",
        training_set="LODE synthetic local blur + REDS (paper)",
        file="",
        options={"usingMask": False, "usingSA": True},
        conventions=_BLADE_TEST + " " + _BLADE_ABLATION,
        description="BladeNet ablation 'BSA only': spatial-attention up-blocks, no mask network; BGR input.",
    ),
    WeightCard(
        arch="bladenet",
        tag="lbp-only",
        training_set="LODE synthetic local blur + REDS (paper)",
        file="",
        options={"usingMask": True, "usingSA": False},
        conventions=_BLADE_TEST + " " + _BLADE_ABLATION,
        description="BladeNet ablation 'LBP only': mask network (local blur prior) with plain up-blocks; "
        "BGR input.",
    ),
)
