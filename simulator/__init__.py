"""Clinically grounded cohort simulator: virtual patients, disease processes, labs and protocols.

Entry points: :func:`simulator.cohort.simulate_cohort` (an in-memory
:class:`bundle.tables.Bundle`) and :func:`simulator.cohort.simulate_to_dir` (chunked
writing); parameters in :class:`simulator.parameters.SimulatorParams`. See docs/simulator.md.
"""
