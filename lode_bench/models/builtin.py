"""The built-in model cards: :data:`BUILTIN_CARDS`, which :data:`~lode_bench.models.card.MODELS`
loads itself on its first lookup (this module is never imported by ``card.py``)."""

from __future__ import annotations

from lode_bench.models.card import ModelCard
from lode_bench.models.published_weights import WEIGHT_CARDS
from lode_bench.models.weights import tagged_cards

_A = "lode_bench.models.archs"

# architecture of lode-tiny (torch-free here, so that listing cards imports no torch)
LODE_TINY_OPTIONS: dict[str, object] = {
    "width": 16,
    "enc_blk_nums": (1, 1, 1),
    "middle_blk_num": 2,
    "dec_blk_nums": (1, 1, 1),
}
# how the shipped lode-tiny weights were trained (lode_bench/data/models/lode-tiny.md)
LODE_TINY_TRAINING_SET = (
    "built-in synthetic scene, synthesis seed 1000 (the demo evaluates seed 0): 48 global "
    "(camera pan, GoPro-style) + 48 local (moving objects, LODE-style) samples at 128×176, "
    "192×256 and 288×384; 64 px patches, batch 8, L1 loss, Adam + cosine LR 1e-3, "
    "1500 steps, seed 12"
)

_NAFNET_PAPER = "Chen, Chu, Zhang, Sun. Simple Baselines for Image Restoration. ECCV 2022"
_MIMO_PAPER = (
    "Cho, Ji, Hong, Jung, Ko. Rethinking Coarse-to-Fine Approach in Single Image Deblurring. "
    "ICCV 2021"
)

# architecture cards (plain names); their published weights are the tagged cards below
ARCH_CARDS: tuple[tuple[ModelCard, tuple[str, ...]], ...] = (
    (
        ModelCard(
            name="identity",
            kind="numpy",
            factory="lode_bench.models.loader:function_factory",
            description="The blurry input as output: the baseline row of every table.",
            needs_checkpoint=False,
            options={"fn": "lode_bench.models.classical:identity", "accepts_uint8": True},
            licence="n/a",
            paper="",
            training_set="none",
        ),
        ("blurry", "input"),
    ),
    (
        ModelCard(
            name="unsharp",
            kind="numpy",
            factory="lode_bench.models.loader:function_factory",
            description="Unsharp masking x + a(x - G*x), Gaussian sigma 2 px, amount 1 (blind, classical).",
            needs_checkpoint=False,
            options={"fn": "lode_bench.models.classical:unsharp_mask"},
            licence="n/a",
            paper="classical image sharpening",
            training_set="none",
        ),
        (),
    ),
    (
        ModelCard(
            name="wiener",
            kind="numpy",
            factory="lode_bench.models.loader:function_factory",
            description="NON-BLIND Wiener deconvolution with the sample's true kernel (balance 0.01).",
            needs_checkpoint=False,
            non_blind=True,
            options={"fn": "lode_bench.models.classical:wiener_deconvolve"},
            licence="n/a",
            paper="Wiener 1949; scikit-image restoration.wiener",
            training_set="none",
        ),
        (),
    ),
    (
        ModelCard(
            name="richardson-lucy",
            kind="numpy",
            factory="lode_bench.models.loader:function_factory",
            description="NON-BLIND Richardson-Lucy deconvolution with the sample's true kernel (30 iterations).",
            needs_checkpoint=False,
            non_blind=True,
            options={"fn": "lode_bench.models.classical:richardson_lucy_deconvolve"},
            licence="n/a",
            paper="Richardson 1972; Lucy 1974",
            training_set="none",
        ),
        ("rl",),
    ),
    (
        ModelCard(
            name="deepdeblur",
            kind="torch",
            factory=f"{_A}.deepdeblur:MSResNet",
            description="DeepDeblur multi-scale ResNet (PyTorch re-implementation), Gaussian-pyramid input in 0-255.",
            input_range=255.0,
            pad_multiple=4,
            pad_mode="replicate",
            tile_size=512,
            tile_overlap=128,
            checkpoint_keys=("G",),
            licence="MIT",
            paper="Nah, Kim, Lee. Deep Multi-scale CNN for Dynamic Scene Deblurring. CVPR 2017",
            training_set="GoPro_Large train (blur_gamma track)",
            weights_url="https://github.com/SeungjunNah/DeepDeblur-PyTorch",
        ),
        ("msresnet",),
    ),
    (
        ModelCard(
            name="nafnet",
            kind="torch",
            factory=f"{_A}.nafnet:NAFNetLocal",
            description="NAFNet width 64 with the test-time local converter (official GoPro test config).",
            pad_multiple=16,
            pad_mode="constant",
            tile_size=512,
            tile_overlap=64,
            checkpoint_keys=("params", "params_ema"),
            licence="MIT",
            options={
                "width": 64,
                "enc_blk_nums": (1, 1, 1, 28),
                "middle_blk_num": 1,
                "dec_blk_nums": (1, 1, 1, 1),
            },
            paper="Chen, Chu, Zhang, Sun. Simple Baselines for Image Restoration. ECCV 2022",
            training_set="GoPro train",
            weights_url="https://github.com/megvii-research/NAFNet",
        ),
        ("nafnet-gopro", "nafnet-local"),
    ),
    (
        ModelCard(
            name="nafnet-plain",
            kind="torch",
            factory=f"{_A}.nafnet:NAFNet",
            description="NAFNet width 64 without the local converter (global channel attention).",
            pad_multiple=16,
            pad_mode="constant",
            tile_size=512,
            tile_overlap=64,
            checkpoint_keys=("params", "params_ema"),
            licence="MIT",
            options={
                "width": 64,
                "enc_blk_nums": (1, 1, 1, 28),
                "middle_blk_num": 1,
                "dec_blk_nums": (1, 1, 1, 1),
            },
            paper="Chen, Chu, Zhang, Sun. Simple Baselines for Image Restoration. ECCV 2022",
            training_set="GoPro train",
            weights_url="https://github.com/megvii-research/NAFNet",
        ),
        (),
    ),
    (
        ModelCard(
            name="nafnet-baseline",
            kind="torch",
            factory=f"{_A}.nafnet:BaselineLocal",
            description="NAFNet paper's simple baseline (GELU, SE channel attention) width 64, with the "
            "test-time local converter (official GoPro test config).",
            pad_multiple=16,
            pad_mode="constant",
            tile_size=512,
            tile_overlap=64,
            checkpoint_keys=("params", "params_ema"),
            licence="MIT",
            options={
                "width": 64,
                "enc_blk_nums": (1, 1, 1, 28),
                "middle_blk_num": 1,
                "dec_blk_nums": (1, 1, 1, 1),
                "dw_expand": 2,
                "ffn_expand": 2,
            },
            paper=_NAFNET_PAPER,
            training_set="GoPro train",
            weights_url="https://github.com/megvii-research/NAFNet",
        ),
        ("baseline-local",),
    ),
    (
        ModelCard(
            name="mimo-unet",
            kind="torch",
            factory=f"{_A}.mimounet:MIMOUNet",
            description="MIMO-UNet (8 residual blocks per stage); full-scale output.",
            pad_multiple=4,
            pad_mode="reflect",
            tile_size=512,
            tile_overlap=64,
            checkpoint_keys=("model",),
            licence="not stated in the repository",
            paper="Cho, Ji, Hong, Jung, Ko. Rethinking Coarse-to-Fine Approach in Single Image Deblurring. ICCV 2021",
            training_set="GoPro train",
            weights_url="https://github.com/chosj95/MIMO-UNet",
        ),
        ("mimounet",),
    ),
    (
        ModelCard(
            name="mimo-unet-plus",
            kind="torch",
            factory=f"{_A}.mimounet:MIMOUNetPlus",
            description="MIMO-UNet+ (20 residual blocks per stage); full-scale output.",
            pad_multiple=4,
            pad_mode="reflect",
            tile_size=512,
            tile_overlap=64,
            checkpoint_keys=("model",),
            licence="not stated in the repository",
            paper="Cho, Ji, Hong, Jung, Ko. Rethinking Coarse-to-Fine Approach in Single Image Deblurring. ICCV 2021",
            training_set="GoPro train",
            weights_url="https://github.com/chosj95/MIMO-UNet",
        ),
        ("mimo-unet+", "mimounetplus"),
    ),
    (
        ModelCard(
            name="mimo-unet-plusplus",
            kind="torch",
            factory=f"{_A}.ensemble:self_ensembled",
            description="MIMO-UNet++: MIMO-UNet+ with geometric self-ensemble at test time (8 flips/rotations, "
            "outputs transformed back and averaged); full-scale output.",
            pad_multiple=4,
            pad_mode="reflect",
            tile_size=512,
            tile_overlap=64,
            checkpoint_keys=("model",),
            licence="not stated in the repository",
            options={"arch": f"{_A}.mimounet:MIMOUNetPlus", "transforms": 8},
            paper=_MIMO_PAPER,
            training_set="GoPro train",
            weights_url="https://github.com/chosj95/MIMO-UNet",
        ),
        ("mimo-unet++",),
    ),
    (
        ModelCard(
            name="restormer",
            kind="torch",
            factory=f"{_A}.restormer:Restormer",
            description="Restormer, motion-deblurring configuration (dim 48, blocks 4/6/6/8).",
            pad_multiple=8,
            pad_mode="reflect",
            tile_size=512,
            tile_overlap=64,
            checkpoint_keys=("params",),
            licence="Academic Public License (non-commercial)",
            paper="Zamir et al. Restormer: Efficient Transformer for High-Resolution Image Restoration. CVPR 2022",
            training_set="GoPro train",
            weights_url="https://github.com/swz30/Restormer",
        ),
        (),
    ),
    (
        ModelCard(
            name="bladenet",
            kind="torch",
            factory=f"{_A}.bladenet:WholeNet",
            description="BladeNet local deblurring (mask U-Net + spatial-attention U-Net), BGR input; "
            "any size (its up-blocks pad like the official code).",
            colour_order="BGR",
            pad_multiple=1,
            pad_mode="reflect",
            tile_size=512,
            tile_overlap=64,
            checkpoint_keys=(),
            licence="not stated in the repository",
            paper="Li, Wang et al. LODE: Deep Local Deblurring and A New Benchmark. ICIP 2022 (arXiv 2109.09149)",
            training_set="LODE synthetic local blur + REDS",
            weights_url="https://github.com/komejisatori/BladeNet",
        ),
        ("lode-bladenet",),
    ),
    (
        ModelCard(
            name="lode-tiny",
            kind="torch",
            factory=f"{_A}.lode_tiny:LodeTiny",
            description="The project's own small learned deblurrer (NAFNet width 16, 3 levels, 0.41 M "
            "parameters), trained on built-in synthetic global and local blur; weights shipped.",
            pad_multiple=8,
            pad_mode="reflect",
            tile_size=256,
            tile_overlap=32,
            checkpoint_keys=(),
            licence="Apache-2.0 (weights and code, as lode-bench)",
            options=dict(LODE_TINY_OPTIONS),
            paper="lode-bench demo model (python -m lode_bench.models.train_demo); architecture: "
            "Chen, Chu, Zhang, Sun. Simple Baselines for Image Restoration. ECCV 2022",
            training_set=LODE_TINY_TRAINING_SET,
            bundled_weights="data/models/lode-tiny.pth",
        ),
        ("lode-demo", "tiny"),
    ),
    (
        ModelCard(
            name="torchscript",
            kind="adapter",
            factory="lode_bench.models.adapters:torchscript_factory",
            description="Any TorchScript file (--model torchscript=FILE), RGB in [0,1] by default.",
            needs_checkpoint=True,
            licence="as the file",
            paper="",
            training_set="",
        ),
        ("jit",),
    ),
    (
        ModelCard(
            name="command",
            kind="adapter",
            factory="lode_bench.models.adapters:command_factory",
            description='External program deblurring a folder (--model "command=CMD {input} {output}").',
            needs_checkpoint=True,
            licence="as the program",
            paper="",
            training_set="",
        ),
        ("cmd",),
    ),
    (
        ModelCard(
            name="folder",
            kind="adapter",
            factory="lode_bench.models.adapters:folder_factory",
            description="Precomputed outputs (--model folder=DIR, files DIR/<sample id>.png).",
            needs_checkpoint=True,
            licence="as the outputs",
            paper="",
            training_set="",
        ),
        ("outputs", "precomputed"),
    ),
)

# every card: the architectures, then one card per published weight file (``arch.tag``)
BUILTIN_CARDS: tuple[tuple[ModelCard, tuple[str, ...]], ...] = ARCH_CARDS + tagged_cards(
    (c for c, _ in ARCH_CARDS), WEIGHT_CARDS
)
