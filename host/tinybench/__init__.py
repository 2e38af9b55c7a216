"""tinybench: a TinyML benchmark system in the MLPerf Tiny tradition."""

__version__ = "0.1.0"
