"""Volume: --scale multiplies traffic, generation streams to disk, memory stays flat."""

from __future__ import annotations

import tracemalloc
from datetime import date
from pathlib import Path

import pytest

from aifinops.sim.company import MAX_EVENTS, CompanyOptions, OptionError, generate, resolve
from aifinops.sim.company.traffic import iter_blocks

END = date(2026, 10, 31)


def test_a_scale_of_200k_events_streams_to_disk(tmp_path: Path) -> None:
    result = generate(tmp_path, CompanyOptions(end=END, scale=4.0))
    events = result.files[0]
    with events.path.open("rb") as f:
        lines = sum(1 for _ in f)
    assert lines == events.rows >= 200_000
    assert result.spend.unpriced_calls == 0


def test_scale_multiplies_the_volume(tmp_path: Path) -> None:
    one = generate(tmp_path / "one", CompanyOptions(days=3, end=END, scale=1.0))
    three = generate(tmp_path / "three", CompanyOptions(days=3, end=END, scale=3.0))
    for single, triple in zip(one.files[:2], three.files[:2], strict=True):
        assert 2.7 < triple.rows / single.rows < 3.3, single.what


def _peak_bytes(tmp_path: Path, days: int) -> tuple[int, int]:
    tracemalloc.start()
    try:
        result = generate(tmp_path, CompanyOptions(days=days, end=END, scale=0.5))
        return tracemalloc.get_traced_memory()[1], result.files[0].rows
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_length_of_the_run(tmp_path: Path) -> None:
    short_peak, short_rows = _peak_bytes(tmp_path / "short", 3)
    long_peak, long_rows = _peak_bytes(tmp_path / "long", 24)
    assert long_rows > 6 * short_rows
    assert long_peak < 1.5 * short_peak, (short_peak, long_peak)


def test_large_scales_split_days_into_bounded_blocks() -> None:
    options = CompanyOptions(end=END, scale=150.0, block_events=100_000)
    window = resolve(options)
    assert window.blocks_per_day > 1
    first = next(iter_blocks(window))
    assert 0 < len(first.calls) <= 1.2 * options.block_events


def test_volume_is_capped_at_ten_million_events() -> None:
    with pytest.raises(OptionError) as caught:
        resolve(CompanyOptions(end=END, scale=200.0))
    assert caught.value.option == "--scale"
    assert f"{MAX_EVENTS:,}" in str(caught.value)
    resolve(CompanyOptions(end=END, scale=170.0))  # just under the cap: accepted
