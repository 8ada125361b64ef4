"""Governance: budgets, alerts, hard limits and rate limits enforced at the gateway."""
