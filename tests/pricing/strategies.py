"""Hypothesis strategies shared by the pricing tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import strategies as st

from aifinops.usage import Usage

# Large enough to cross every long-context tier in the data (100k, 200k, 272k).
tokens = st.one_of(st.just(0), st.integers(0, 2_000), st.integers(0, 600_000))

usages = st.builds(
    Usage,
    input_tokens=tokens,
    cache_read_tokens=tokens,
    cache_write_5m_tokens=tokens,
    cache_write_1h_tokens=tokens,
    output_tokens=st.integers(0, 200_000),
    web_search_requests=st.integers(0, 30),
)

moments = st.builds(
    lambda d, s: (
        datetime.combine(date(2023, 1, 1) + timedelta(days=d), time(), tzinfo=UTC)
        + timedelta(seconds=s)
    ),
    st.integers(0, 365 * 5),
    st.integers(0, 86_399),
)

tiers = st.sampled_from([None, "default", "standard", "flex", "priority", "fast", "scale", "batch"])
