"""Exports of the ledger for other FinOps tools (FOCUS)."""
