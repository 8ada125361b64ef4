"""The five kinds of waste, found on the insert-time ``waste_rollup`` and priced.

`report.find_waste` runs every detector over one date range; each detector module is
pure (groups in, findings out). docs/optimize.md states each saving method.
"""
