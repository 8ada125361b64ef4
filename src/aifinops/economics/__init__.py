"""Unit economics: outcomes, cost per successful outcome, value and human-cost ratios,
their 30-day trend, showback and chargeback."""
