"""Executors: every item comes back once, failures come back as values, inputs are pulled lazily."""

from __future__ import annotations

import pytest

from lode_bench.errors import ConfigError
from lode_bench.parallel.executor import LocalExecutor


def _square_or_fail(x: int) -> int:
    if x == 3:
        raise ValueError("three is bad")
    return x * x


@pytest.mark.parametrize("kind", ["serial", "thread", "process"])
def test_map_unordered_returns_everything(kind):
    with LocalExecutor(2, kind) as ex:
        out = dict(ex.map_unordered(_square_or_fail, range(6)))
    assert set(out) == set(range(6))
    assert isinstance(out[3], ValueError) and "three" in str(out[3])
    assert all(out[i] == i * i for i in range(6) if i != 3)


def test_items_are_pulled_lazily():
    pulled = []

    def gen():
        for i in range(20):
            pulled.append(i)
            yield i

    with LocalExecutor(2, "thread") as ex:
        it = ex.map_unordered(_square_or_fail, gen(), max_in_flight=3)
        next(it)
        assert len(pulled) <= 4  # at most max_in_flight pending plus the one finished
        rest = list(it)
    assert len(rest) == 19


def test_bad_kind():
    with pytest.raises(ConfigError):
        LocalExecutor(1, "cluster")  # type: ignore[arg-type]
