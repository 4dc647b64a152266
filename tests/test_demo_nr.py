"""`demo` shows a no-reference (NIQE) column where a model file is present, and says how otherwise."""

from __future__ import annotations

from pathlib import Path

from lode_bench.bench.store import ResultsStore
from lode_bench.demo import GLOBAL_MODELS, _demo_nr, run_demo, store_label

MODEL = Path(__file__).resolve().parent / "data" / "metrics" / "niqe" / "niqe_pris_params.npz"


def test_demo_nr_column_with_model(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LODE_BENCH_NIQE_MODEL", str(MODEL))
    messages: list[str] = []
    res = run_demo(
        tmp_path / "demo",
        n_samples=2,
        size=(192, 192),
        progress=False,
        n_resamples=200,
        echo=messages.append,
        workers=1,
    )
    with ResultsStore(res.store) as st:
        frame = st.results_frame()
    nr = frame[frame.protocol == "nr-niqe"]
    assert set(nr.model) == {store_label(m) for m in GLOBAL_MODELS} and (nr.status == "ok").all()
    md = (res.out_dir / "report" / "tables.md").read_text(encoding="utf-8")
    assert "NIQE ↓" in md and any("nr-niqe scored 2/2" in m for m in messages)


def test_demo_says_how_to_add_a_model(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("LODE_BENCH_NIQE_MODEL", raising=False)
    monkeypatch.setenv("LODE_BENCH_NRIQA_WEIGHTS", str(tmp_path / "weights"))
    messages: list[str] = []
    _demo_nr(tmp_path, tmp_path, tmp_path / "s.db", (240, 320), False, 1, messages.append)
    assert len(messages) == 1 and "no NR column" in messages[0]
    assert "niqe_pris_params.npz" in messages[0] and str(tmp_path / "weights") in messages[0]
    monkeypatch.setenv("LODE_BENCH_NIQE_MODEL", str(MODEL))
    messages.clear()
    _demo_nr(tmp_path, tmp_path, tmp_path / "s.db", (96, 128), False, 1, messages.append)
    assert "two 96×96 blocks" in messages[0] and not (tmp_path / "s.db").exists()
