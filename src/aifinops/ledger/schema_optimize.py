"""Optimize tables: eval scores and the insert-time waste rollup.

- ``eval_scores``: offline eval results (``aifinops import evals``), one row per
  (feature, model, prompt version, metric, run date). ``score_id`` is a digest of that
  key, so a re-import of the same file adds nothing; a missing prompt version or metric
  is stored as ``""`` and a missing run date as null (the digest covers both). Scores
  are decimal strings from 0 to 1 (``"0.95"``), kept exactly as given.
- ``waste_rollup``: the shape signals of calls per UTC hour and (provider, model,
  service tier, batch, team, feature, prompt version, system hash, prefix hash),
  with ``cache_slots``, a 12-bit mask of the 5-minute slots of the hour that had calls,
  maintained by the ledger writer in the same transaction as the events (see
  `aifinops.optimize.rollup`). It holds token counts only, no money: the waste detectors
  price them at report time with the pricing engine, so ``aifinops reprice`` never
  leaves it stale. A missing dimension is stored as ``""``. The input-size histogram
  (``input_calls_*`` / ``input_tokens_*``, revision 0011) is 0 on rows written before
  that revision.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
)

from aifinops.ledger.schema import metadata

eval_scores = Table(
    "eval_scores",
    metadata,
    Column("score_id", String(64), primary_key=True),
    Column("feature", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("prompt_version", String(200), nullable=False),
    Column("metric", String(100), nullable=False),
    Column("score", String(20), nullable=False),
    Column("sample_size", Integer, nullable=False),
    Column("run_date", Date),
    Column("source", String(200), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Index("ix_eval_scores_feature_model", "feature", "model"),
)

#: Key of a waste rollup row after the hour (strings; "" when missing), then ``batch``.
WASTE_DIMENSIONS: tuple[str, ...] = (
    "provider",
    "model",
    "service_tier",
    "team",
    "feature",
    "prompt_version",
    "system_hash",
    "prefix_hash",
)

#: Output-length buckets of calls sent without max_tokens: bucket i holds outputs in
#: [edge[i-1], edge[i]) (bucket 0 from 0, the last one open-ended).
OUTPUT_EDGES: tuple[int, ...] = (256, 512, 1024, 2048, 4096, 8192, 16384)
OUTPUT_BUCKETS = len(OUTPUT_EDGES) + 1

#: Input-size buckets of every call (all input: uncached, cache reads and writes),
#: edges doubling from 1,024 to 262,144 tokens; bucket i as for `OUTPUT_EDGES`.
INPUT_EDGES: tuple[int, ...] = tuple(1024 << i for i in range(9))
INPUT_BUCKETS = len(INPUT_EDGES) + 1

#: Summed measures (``*_max`` ones keep the maximum), in order.
WASTE_MEASURES: tuple[str, ...] = (
    "calls",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "system_calls",
    "system_tokens",
    "system_tokens_max",
    "chunk_calls",
    "context_chunks",
    "context_chunks_max",
    "chunk_input_tokens",
    "chunk_system_tokens",
    "uncapped_calls",
    "uncapped_output_tokens",
    "uncapped_length_stops",
    *(f"uncapped_out_calls_{i}" for i in range(OUTPUT_BUCKETS)),
    *(f"uncapped_out_tokens_{i}" for i in range(OUTPUT_BUCKETS)),
    *(f"input_calls_{i}" for i in range(INPUT_BUCKETS)),
    *(f"input_tokens_{i}" for i in range(INPUT_BUCKETS)),
)

waste_rollup = Table(
    "waste_rollup",
    metadata,
    Column("hour", DateTime(timezone=True), primary_key=True),
    *(Column(name, String(200), primary_key=True) for name in WASTE_DIMENSIONS),
    Column("batch", Boolean, primary_key=True),
    Column("day", Date, nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in WASTE_MEASURES),
    Column("cache_slots", BigInteger, nullable=False),
    Column("example_event_id", String(200), nullable=False),
    Index("ix_waste_rollup_day", "day"),
)
