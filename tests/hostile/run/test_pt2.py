"""``--model torchscript=FILE.pt2``: archives that would unpickle or evaluate code are refused
before PyTorch opens them (a crafted archive never creates its marker file)."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tests.hostile.run.hostile_helpers import assert_one_line_error  # noqa: E402

pytestmark = pytest.mark.timeout(300)


class _Touch:
    """Unpickling this creates ``path`` (what a hostile payload would do, harmlessly)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _export(path: Path, dynamic: bool) -> Path:
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = torch.nn.Conv2d(3, 3, 1)

        def forward(self, x):
            return x + 0.0 * self.c(x)

    x = torch.rand(1, 3, 24, 32)
    shapes = None
    if dynamic:
        h, w = torch.export.Dim("h", min=2, max=4096), torch.export.Dim("w", min=2, max=4096)
        shapes = ({2: h, 3: w},)
    torch.export.save(torch.export.export(Net().eval(), (x,), dynamic_shapes=shapes), str(path))
    return path


@pytest.fixture(scope="module")
def good_pt2(tmp_path_factory) -> Path:
    return _export(tmp_path_factory.mktemp("pt2") / "net.pt2", dynamic=True)


def _rewrite(src: Path, dst: Path, edit) -> Path:
    """Copy the zip ``src`` to ``dst`` with ``edit(name, bytes) -> bytes | None`` applied."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)
    return dst


def _pickled_weight(marker: Path):
    def edit(name: str, data: bytes) -> bytes:
        if name.endswith("_weights_config.json"):
            doc = json.loads(data)
            for meta in doc["config"].values():
                meta["use_pickle"] = True
            return json.dumps(doc).encode()
        if "/data/weights/weight_" in name:
            return pickle.dumps(_Touch(str(marker)))
        return data

    return edit


def _pickled_sample_inputs(marker: Path):
    def edit(name: str, data: bytes) -> bytes:
        if "/data/sample_inputs/" in name:
            return pickle.dumps(_Touch(str(marker)))
        return data

    return edit


def _eval_in_shape_expr(marker: Path):
    def edit(name: str, data: bytes) -> bytes:
        if name.endswith("/models/model.json"):
            text = data.decode()
            sym = "Symbol('s0', positive=True, integer=True)"
            assert sym in text
            hostile = f"Add(0*len(open('{marker.as_posix()}', 'w').name), {sym})".replace(
                "'", "\\u0027"
            )
            return (
                text.replace(sym.replace("'", "\\u0027"), hostile, 1)
                .replace(sym, hostile.replace("\\u0027", "'"), 1)
                .encode()
            )
        return data

    return edit


@pytest.mark.parametrize(
    "make_edit, needle",
    [
        (_pickled_weight, "use_pickle"),
        (_pickled_sample_inputs, "sample inputs"),
        (_eval_in_shape_expr, "symbolic expression"),
    ],
)
def test_crafted_pt2_never_runs_its_payload(cli, dataset, good_pt2, tmp_path, make_edit, needle):
    marker = tmp_path / "MARKER"
    bad = _rewrite(good_pt2, tmp_path / "bad.pt2", make_edit(marker))
    store = tmp_path / "r.sqlite"
    code, out = cli(
        "run",
        "-m",
        f"torchscript={bad}",
        "-d",
        dataset,
        "-p",
        "gopro",
        "--store",
        store,
        "-q",
        "--device",
        "cpu",
    )
    assert not marker.exists(), "the archive's payload ran"
    assert_one_line_error(code, out, str(bad), needle)


def test_compiled_code_part_refused(cli, dataset, good_pt2, tmp_path):
    top = zipfile.ZipFile(good_pt2).namelist()[0].split("/")[0]
    bad = tmp_path / "aoti.pt2"
    _rewrite(good_pt2, bad, lambda n, d: d)
    with zipfile.ZipFile(bad, "a") as z:
        z.writestr(f"{top}/data/aotinductor/model/model.so", b"\x7fELF")
    code, out = cli(
        "run",
        "-m",
        f"torchscript={bad}",
        "-d",
        dataset,
        "-p",
        "gopro",
        "--store",
        tmp_path / "r.sqlite",
        "-q",
        "--device",
        "cpu",
    )
    assert_one_line_error(code, out, "aotinductor", "not allowed")


def test_graph_target_outside_torch_ops_refused(tmp_path, good_pt2):
    from lode_bench.models.pt2_check import UnsafeArchiveError, check_pt2_archive

    def edit(name: str, data: bytes) -> bytes:
        if name.endswith("/models/model.json"):
            return data.replace(b'"torch.ops.aten.', b'"torch.os.', 1)
        return data

    bad = _rewrite(good_pt2, tmp_path / "t.pt2", edit)
    with pytest.raises(UnsafeArchiveError, match="only torch.ops"):
        check_pt2_archive(bad)


def test_not_an_archive_is_one_line(cli, dataset, tmp_path):
    bad = tmp_path / "junk.pt2"
    bad.write_bytes(b"PK\x03\x04 definitely not a zip")
    code, out = cli(
        "run",
        "-m",
        f"torchscript={bad}",
        "-d",
        dataset,
        "-p",
        "gopro",
        "--store",
        tmp_path / "r.sqlite",
        "-q",
        "--device",
        "cpu",
    )
    assert_one_line_error(code, out, str(bad))


def test_plain_archive_still_runs(cli, dataset, good_pt2, tmp_path):
    from lode_bench.bench.store import ResultsStore

    store = tmp_path / "r.sqlite"
    code, out = cli(
        "run",
        "-m",
        f"torchscript={good_pt2}",
        "-d",
        dataset,
        "-p",
        "gopro",
        "--store",
        store,
        "-q",
        "--device",
        "cpu",
    )
    assert code == 0, out
    with ResultsStore(store) as st:
        rows = st.rows()
    assert len(rows) == 4 and all(r.status == "ok" for r in rows), [r.error for r in rows]
