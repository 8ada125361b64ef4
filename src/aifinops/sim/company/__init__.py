"""The synthetic company: a multi-tenant CRM SaaS whose AI traffic every demo and test uses.

Deterministic by seed. `generate` writes ``events.jsonl`` (canonical UsageEvent rows),
``outcomes.jsonl``, ``evals.csv`` and ``aifinops.yaml`` into a directory; `iter_blocks`
streams the same traffic as numpy columns without touching disk. The teams, features,
models and planted patterns are data in `spec`; docs/synthetic-company.md lists the
signal each pattern leaves, and that nothing else is planted.
"""

from aifinops.sim.company.options import MAX_EVENTS, CompanyOptions, OptionError, Window, resolve
from aifinops.sim.company.spec import FEATURE_BY_NAME, FEATURES, MODELS, TEAMS, Feature, Team
from aifinops.sim.company.traffic import Block, iter_blocks
from aifinops.sim.company.writer import (
    CONFIG_FILE,
    EVALS_FILE,
    EVENTS_FILE,
    OUTCOMES_FILE,
    FileSummary,
    GenerationResult,
    generate,
)

__all__ = [
    "CONFIG_FILE",
    "EVALS_FILE",
    "EVENTS_FILE",
    "FEATURES",
    "FEATURE_BY_NAME",
    "MAX_EVENTS",
    "MODELS",
    "OUTCOMES_FILE",
    "TEAMS",
    "Block",
    "CompanyOptions",
    "Feature",
    "FileSummary",
    "GenerationResult",
    "OptionError",
    "Team",
    "Window",
    "generate",
    "iter_blocks",
    "resolve",
]
