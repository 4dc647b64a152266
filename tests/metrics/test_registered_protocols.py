"""Every registered protocol, straight from the registry, scores a real fixture pair.

The pair is a real TID2013 distorted/reference crop; protocols that need a blur mask get
one made from that pair (where the distortion is largest). Full-reference protocols must
also score the reference itself better than the distorted image in every column;
no-reference protocols rate the distorted image alone. Columns whose model files are
absent are dropped by :meth:`Protocol.available` (a protocol with none left is skipped).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from lode_bench.errors import LodeBenchError
from lode_bench.metrics.protocols import PROTOCOLS, get_protocol, list_protocols, metric_spec
from tests.metrics.metrics_data import DATA, tid_pair

NAMES = PROTOCOLS.names()


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distorted, reference, mask) 192×256 crops of TID2013 I19 and a mask of its largest errors."""
    dist, ref = (np.ascontiguousarray(a[96:288, 128:384]) for a in tid_pair("I19"))
    err = ndimage.uniform_filter(np.abs(dist.astype(float) - ref).mean(-1), 15)
    return dist, ref, err > np.quantile(err, 0.7)


def test_every_protocol_is_listed_and_found_by_alias():
    assert [p.name for p in list_protocols()] == NAMES
    assert {"gopro", "realblur", "reloblur", "lode", "iqa", "nr-glow", "nr-niqe"} <= set(NAMES)
    for name in NAMES:
        for alias in PROTOCOLS.aliases(name):
            assert get_protocol(alias).name == name


@pytest.mark.parametrize("name", NAMES)
def test_protocol_scores_a_real_pair(name, pair, monkeypatch):
    monkeypatch.setenv("LODE_BENCH_NIQE_MODEL", str(DATA / "niqe" / "niqe_pris_params.npz"))
    dist, ref, mask = pair
    try:
        proto, missing = get_protocol(name).available()
    except LodeBenchError as exc:  # a partial protocol none of whose model files are here
        pytest.skip(str(exc))
    use_mask = mask if proto.mask != "none" else None
    target = ref if proto.needs_reference else None
    got = proto.score(dist, target, mask=use_mask, image_id="I19")
    assert got.ok, got.error_message
    assert set(got.values) == set(proto.columns) and not set(missing) & set(proto.columns)
    if use_mask is not None:
        assert got.mask_coverage == pytest.approx(mask.mean())
    for call in proto.calls:
        v = got.values[call.column]
        lo, hi = metric_spec(call.metric).value_range
        assert not math.isnan(v) and lo <= v <= hi, (call.column, v)
    if proto.needs_reference:  # the ground truth itself scores better in every column
        best = proto.score(ref, ref, mask=use_mask, image_id="I19-ref")
        assert best.ok, best.error_message
        for col in proto.columns:
            a, b = best.values[col], got.values[col]
            assert (a > b) if proto.higher_is_better(col) else (a < b), (col, a, b)
