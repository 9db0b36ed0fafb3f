"""Replays of the attacks issue 18 found, one module per area; run them with
`benchmarks/attack_replay.py` (see harness.py for how a replay is written)."""
