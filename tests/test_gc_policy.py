"""The cycle collector's settings for bulk work are set, and restored, as documented."""

from __future__ import annotations

import gc
import multiprocessing

import pytest

from aifinops.gc_policy import BULK_THRESHOLDS, bulk_gc, start_bulk_worker


def _worker_settings() -> tuple[tuple[int, int, int], int]:
    start_bulk_worker()
    return gc.get_threshold(), gc.get_freeze_count()


def test_bulk_gc_sets_and_restores_the_thresholds() -> None:
    before = gc.get_threshold()
    assert before != BULK_THRESHOLDS
    with bulk_gc():
        assert gc.get_threshold() == BULK_THRESHOLDS
        assert gc.get_freeze_count() > 0  # what was loaded before is not scanned
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_bulk_gc_restores_after_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), bulk_gc():
        raise RuntimeError("interrupted import")
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, 0)


def test_a_bulk_worker_keeps_the_settings() -> None:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        thresholds, frozen = pool.apply(_worker_settings)
    assert thresholds == BULK_THRESHOLDS
    assert frozen > 0
