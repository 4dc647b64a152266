"""LPIPS scorer: equality with the lpips package's own forward on a seeded random backbone,
batching, and clear errors (never a download) when the backbone weights are missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.metrics.metrics_data import real_pair

lpips = pytest.importorskip("lpips")
torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from lode_bench.errors import LodeBenchError  # noqa: E402
from lode_bench.metrics.lpips_metric import (  # noqa: E402
    BACKBONE_ENV,
    BACKBONE_FILES,
    LPIPSScorer,
    LPIPSWeightsMissing,
    lpips_distance,
)

# the reference lpips.LPIPS passes torchvision's legacy ``pretrained=`` argument
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated since 0.13:UserWarning")

FACTORIES = {"alex": "alexnet", "squeeze": "squeezenet1_1"}


@pytest.fixture(autouse=True)
def _no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to fetch weights fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a weight download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.delenv(BACKBONE_ENV, raising=False)


@pytest.fixture(scope="module")
def backbones(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, object]]:
    """Seeded random torchvision backbones saved as state dicts (features only, to stay small)."""
    out = {}
    root = tmp_path_factory.mktemp("backbones")
    for net, factory in FACTORIES.items():
        torch.manual_seed(7)
        model = getattr(torchvision.models, factory)(weights=None)
        state = {k: v for k, v in model.state_dict().items() if k.startswith("features.")}
        path = root / BACKBONE_FILES[net]
        torch.save(state, path)
        out[net] = (path, model)
    return out


def reference_lpips(net: str, model: object, pred: np.ndarray, target: np.ndarray) -> float:
    """lpips.LPIPS(pnet_rand=True) with the same backbone modules' weights copied in."""
    ref = lpips.LPIPS(net=net, pnet_rand=True, verbose=False).eval()
    for _, block in ref.net.named_children():
        for idx, module in block.named_children():
            module.load_state_dict(model.features[int(idx)].state_dict())  # type: ignore[attr-defined]

    def t(x: np.ndarray) -> object:
        return torch.from_numpy(x.astype(np.float32)).permute(2, 0, 1)[None] / 127.5 - 1.0

    with torch.no_grad():
        return float(ref(t(pred), t(target)).item())


@pytest.mark.parametrize("net", sorted(FACTORIES))
def test_scorer_equals_lpips_package_forward(net: str, backbones: dict) -> None:
    path, model = backbones[net]
    scorer = LPIPSScorer(net, backbone_weights=path, device="cpu")
    for method in ("blur", "restormer"):
        out, gt = real_pair("gopro", method)
        assert scorer(out, gt) == pytest.approx(reference_lpips(net, model, out, gt), abs=1e-6)


def test_score_batch_matches_single_calls_and_order(backbones: dict) -> None:
    path, _ = backbones["squeeze"]
    scorer = LPIPSScorer("squeeze", backbone_weights=path, device="cpu", batch_size=2)
    pairs = [real_pair("gopro", m) for m in ("blur", "hi-diff", "restormer")]
    pairs.append((pairs[0][1][:40, :64], pairs[0][1][:40, :64]))  # other size, identical
    pairs.append(real_pair("realblur", "stripformer"))
    batch = scorer.score_batch([p for p, _ in pairs], [t for _, t in pairs])
    single = [scorer(p, t) for p, t in pairs]
    np.testing.assert_allclose(batch, single, rtol=0, atol=1e-6)
    assert batch[3] == pytest.approx(0.0, abs=1e-7)
    assert len({round(v, 6) for v in batch}) == len(batch)


def test_float_input_and_lpips_distance_cache(
    backbones: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = backbones["alex"]
    out, gt = real_pair("realblur", "restormer")
    a = lpips_distance(out, gt, net="alex", backbone_weights=path, device="cpu")
    b = lpips_distance(
        out / 255.0, gt / 255.0, net="alex", backbone_weights=path, device="cpu", data_range=1.0
    )
    assert a == pytest.approx(b, abs=1e-6)
    monkeypatch.setenv(BACKBONE_ENV, str(path))
    c = lpips_distance(out, gt, net="alex", device="cpu")
    assert c == pytest.approx(a, abs=1e-7)


def test_missing_weights_error_names_file_and_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for net, fname in BACKBONE_FILES.items():
        with pytest.raises(LPIPSWeightsMissing) as info:
            LPIPSScorer(net)
        msg = str(info.value)
        assert fname in msg
        assert str(tmp_path / "torch" / "hub" / "checkpoints") in msg
        assert "backbone_weights=PATH" in msg and BACKBONE_ENV in msg
    with pytest.raises(LPIPSWeightsMissing, match="not found"):
        LPIPSScorer("alex", backbone_weights=tmp_path / "nope.pth")
    assert issubclass(LPIPSWeightsMissing, LodeBenchError)


class _NotATensor:
    pass


def test_bad_weight_files_refused(tmp_path: Path, backbones: dict) -> None:
    pickled = tmp_path / "pickled.pth"
    torch.save({"features.0.weight": _NotATensor()}, pickled)
    with pytest.raises(LodeBenchError, match="cannot read"):
        LPIPSScorer("alex", backbone_weights=pickled)
    path, _ = backbones["squeeze"]
    with pytest.raises(LodeBenchError, match="not a torchvision alex backbone|shape"):
        LPIPSScorer("alex", backbone_weights=path)
    with pytest.raises(LodeBenchError, match="unknown LPIPS net"):
        LPIPSScorer("resnet", backbone_weights=path)
