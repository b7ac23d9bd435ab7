"""Benchmarks of the provider against the Runflow emulator, its peers and the bare-aiohttp limit.

Run them with ``python3 scripts/dev.py bench`` (or ``python -m benchmarks.run``); see ``docs/benchmarks.md``.
The emulator's own load test is apart: ``python -m benchmarks.emulator_load`` (see ``docs/emulator.md``).
"""
