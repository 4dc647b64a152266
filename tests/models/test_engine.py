"""Inference engine and building blocks against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lode_bench.datasets.types import Sample
from lode_bench.errors import LodeBenchError
from lode_bench.models import ModelCard, ModelSpec, load_model
from lode_bench.models.archs.deepdeblur import gaussian_pyramid
from lode_bench.models.archs.nafnet import LocalAvgPool, NAFNet, NAFNetLocal
from lode_bench.models.inference import pad_to_multiple, select_device, tiled_forward
from lode_bench.models.torch_model import TorchDeblurrer

S = Sample("img", "img.png")


@pytest.mark.parametrize("shape", [(40, 52), (37, 45), (16, 16)])
def test_gaussian_pyramid_matches_skimage(shape):
    from skimage.transform import pyramid_gaussian

    img = np.random.default_rng(1).random((*shape, 3)).astype(np.float32) * 255
    ref = list(pyramid_gaussian(img.astype(np.float64), max_layer=2, downscale=2, channel_axis=-1))
    ours = gaussian_pyramid(torch.from_numpy(img.transpose(2, 0, 1).copy())[None].double(), 3)
    for r, o in zip(ref, ours, strict=True):
        assert o.shape[-2:] == r.shape[:2]
        np.testing.assert_allclose(
            o[0].numpy().transpose(1, 2, 0), r, atol=1e-9
        )  # float64 on both sides


def test_local_avg_pool_against_slow_definition():
    x = torch.randn(1, 2, 9, 11, dtype=torch.float64)
    k = (4, 5)
    out = LocalAvgPool(k)(x)
    vh, vw = 9 - k[0] + 1, 11 - k[1] + 1
    valid = torch.empty(1, 2, vh, vw, dtype=torch.float64)
    for i in range(vh):
        for j in range(vw):
            valid[..., i, j] = x[..., i : i + k[0], j : j + k[1]].mean(dim=(-2, -1))
    # replicate-padded back to 9x11, centred with the extra row/column at the end
    ii = np.clip(np.arange(9) - (9 - vh) // 2, 0, vh - 1)
    jj = np.clip(np.arange(11) - (11 - vw) // 2, 0, vw - 1)
    ref = valid[..., ii, :][..., jj]
    torch.testing.assert_close(out, ref)
    big = LocalAvgPool((20, 20))(x)  # kernel covers the map: global mean
    torch.testing.assert_close(big, x.mean(dim=(2, 3), keepdim=True))


def test_nafnet_local_equals_plain_when_boxes_cover_the_image():
    kw = {"width": 8, "enc_blk_nums": (1, 1), "middle_blk_num": 1, "dec_blk_nums": (1, 1)}
    torch.manual_seed(0)
    plain = NAFNet(**kw).eval()
    local = NAFNetLocal(**kw).eval()
    local.load_state_dict(plain.state_dict(), strict=True)
    for p in plain.parameters():  # non-trivial gates so attention matters
        p.data.add_(0.1 * torch.randn_like(p))
    local.load_state_dict(plain.state_dict())
    x = torch.rand(1, 3, 64, 80)
    with torch.no_grad():
        torch.testing.assert_close(local(x), plain(x), atol=1e-5, rtol=0)
        y = torch.rand(1, 3, 400, 64)  # taller than the 384-px box: local statistics differ
        assert (local(y) - plain(y)).abs().max() > 1e-4


def _local_net() -> nn.Module:
    torch.manual_seed(3)
    layers: list[nn.Module] = []
    for i in range(4):  # receptive-field radius 4 px
        layers += [nn.Conv2d(3 if i == 0 else 8, 8 if i < 3 else 3, 3, padding=1), nn.Tanh()]
    return nn.Sequential(*layers).eval()


@pytest.mark.parametrize("tile,overlap", [(32, 16), (48, 24), (40, 32)])
def test_tiled_equals_untiled_for_local_network(tile, overlap):
    # tolerance 1e-5: blending weights are exactly zero within overlap//4 >= 4 px of an
    # inner tile edge, so only float rounding separates the two results
    net = _local_net()
    x = torch.rand(1, 3, 75, 101)
    with torch.no_grad():
        full = net(x)
        tiled = tiled_forward(net, x, tile=tile, overlap=overlap)
    torch.testing.assert_close(tiled, full, atol=1e-5, rtol=0)


def test_tiled_output_of_registered_architecture_is_close(tmp_path):
    # MIMO-UNet has a large receptive field, so tiles differ slightly from the whole
    # image: stated tolerance, mean |diff| < 2e-3 and max < 5e-2 on [0, 1] values
    m = load_model(
        ModelSpec("mimo-unet", options={"num_res": 1, "base_channel": 8}, random_weights=True),
        device="cpu",
    )
    img = np.random.default_rng(2).random((96, 120, 3), dtype=np.float32)
    whole = m.deblur(img, S)
    m.tile, m.tile_overlap = 64, 32
    tiled = m.deblur(img, S)
    diff = np.abs(whole - tiled)
    assert diff.mean() < 2e-3 and diff.max() < 5e-2


class _OomAbove(nn.Module):
    """Doubles its input; raises out-of-memory for inputs above ``limit`` pixels."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.calls: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(x.shape[-2:]))
        if x.shape[-1] * x.shape[-2] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return x * 0.5


def _card(**kw) -> ModelCard:
    return ModelCard(name="t", kind="torch", factory=lambda: None, description="t", **kw)


def test_out_of_memory_switches_to_tiling_and_stays_tiled():
    net = _OomAbove(limit=70 * 70)
    d = TorchDeblurrer(_card(tile_size=128, tile_overlap=16), net, device="cpu")
    img = np.random.default_rng(0).random((100, 150, 3), dtype=np.float32)
    out = d.deblur(img, S)
    np.testing.assert_allclose(out, img * 0.5, atol=1e-6)
    assert d.tile == 64 and d.oom_fallbacks >= 1  # 128 → halved until tiles fit
    n = len(net.calls)
    d.deblur(img, S)
    assert all(h * w <= 70 * 70 for h, w in net.calls[n:])  # next image tiled from the start
    with pytest.raises(LodeBenchError, match="out of memory"):
        TorchDeblurrer(_card(tile_size=128), _OomAbove(limit=10), device="cpu").deblur(img, S)
    no_auto = TorchDeblurrer(_card(), _OomAbove(limit=10), device="cpu", auto_tile=False)
    with pytest.raises(torch.OutOfMemoryError):
        no_auto.deblur(img, S)


def test_padding_range_and_colour_order_conventions():
    seen = {}

    class Probe(nn.Module):
        def forward(self, x):
            seen["x"] = x.clone()
            return x

    img = np.zeros((5, 6, 3), np.float32)
    img[..., 0] = 1.0  # pure red
    d = TorchDeblurrer(
        _card(input_range=255.0, colour_order="BGR", pad_multiple=4, pad_mode="replicate"),
        Probe(),
        device="cpu",
    )
    out = d.deblur(img, S)
    x = seen["x"]
    assert x.shape == (1, 3, 8, 8)  # padded to multiples of 4
    assert (
        float(x[0, 2].min()) == 255.0 and float(x[0, 0].max()) == 0.0
    )  # red is channel 2 in BGR, 0-255
    np.testing.assert_array_equal(out, img)  # cropped, scaled and reordered back


def test_pad_to_multiple_modes():
    x = torch.arange(6.0).view(1, 1, 2, 3)
    p, hw = pad_to_multiple(x, 4, "replicate")
    assert hw == (2, 3) and p.shape == (1, 1, 4, 4) and float(p[0, 0, 3, 3]) == 5.0
    p, _ = pad_to_multiple(x, 4, "constant")
    assert float(p[0, 0, 3, 3]) == 0.0
    p, _ = pad_to_multiple(x, 1)
    assert p is x


def test_device_selection():
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(LodeBenchError, match="CUDA is not available"):
            select_device("cuda")
    with pytest.raises(LodeBenchError, match="unknown device"):
        select_device("warp-drive")


def test_amp_runs_and_stays_close():
    net = _local_net()
    img = np.random.default_rng(0).random((24, 30, 3), dtype=np.float32)
    ref = TorchDeblurrer(_card(), net, device="cpu").deblur(img, S)
    amp = TorchDeblurrer(_card(), net, device="cpu", amp=True)
    out = amp.deblur(img, S)
    assert amp.provenance()["precision"] == "bfloat16"
    assert np.abs(out - ref).max() < 0.05  # bfloat16 has ~3 significant digits


def test_flops_and_params_of_a_known_layer():
    conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
    d = TorchDeblurrer(_card(), nn.Sequential(conv, nn.Conv2d(4, 3, 1, bias=False)), device="cpu")
    assert d.param_count() == 3 * 4 * 9 + 4 * 3
    # FLOPs = 2 * multiply-adds: (3*9*4 + 4*3) per pixel
    assert d.flops(10, 12) == 2 * 10 * 12 * (3 * 9 * 4 + 4 * 3)
