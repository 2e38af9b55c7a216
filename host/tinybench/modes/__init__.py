"""Benchmark modes as strategies over a DUT session.

accuracy: one sample at a time (run_sample), scored and checked against the reference;
shards: the accuracy scheduler over one or more DUTs; performance: the timed windows and
the choice of their inputs. The runner only orders these steps.
"""
