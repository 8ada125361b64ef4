"""The deployment gate: cost beside quality and latency, before a change ships.

`aifinops gate` compares a baseline and a candidate selection (ledger traffic or an
eval-run file) of one feature and decides pass / fail / not enough data under a policy.
"""
