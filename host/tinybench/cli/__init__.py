"""Command-line interface (filled in by the foundation work)."""

def main() -> None:
    raise SystemExit("tinybench: CLI not wired yet")
