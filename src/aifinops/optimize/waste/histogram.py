"""Bucket histograms of the waste rollup: a feature's normal size and what lies above it.

A histogram is a count (and a token sum) per bucket, bucket i holding values in
[edges[i-1], edges[i]) — bucket 0 from 0, the last one open-ended. The *normal* size is
the top edge of the bucket that holds the median call; sums over whole buckets from an
edge up are exact, since every call there is at least that edge.
"""

from __future__ import annotations


def normal_size(counts: list[int], edges: tuple[int, ...]) -> int | None:
    """The top edge of the median call's bucket; None when there are no calls or the
    median sits in the open-ended last bucket."""
    total = sum(counts)
    if not total:
        return None
    running = 0
    for i, n in enumerate(counts):
        running += n
        if 2 * running >= total:
            return edges[i] if i < len(edges) else None
    return None


def edge_at_least(edges: tuple[int, ...], value: int) -> int | None:
    """The smallest edge ≥ ``value`` (None above the last edge)."""
    return next((e for e in edges if e >= value), None)


def above(counts: list[int], sums: list[int], edges: tuple[int, ...], edge: int) -> tuple[int, int]:
    """(calls, tokens) of the buckets starting at or above ``edge`` (one of ``edges``)."""
    first = edges.index(edge) + 1
    return sum(counts[first:]), sum(sums[first:])
