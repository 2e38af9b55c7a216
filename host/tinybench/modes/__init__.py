"""Benchmark modes as strategies over a DUT session: accuracy (performance and energy follow)."""
