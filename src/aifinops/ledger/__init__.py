"""The ledger: events, hourly rollups maintained at insert time, and the queries on them."""
