"""Reports built on the ledger: spend, and (later) cost per outcome and the monthly review."""
