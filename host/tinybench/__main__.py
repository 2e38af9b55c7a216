"""`python -m tinybench` is the `tinybench` command."""

from tinybench.cli import main

main()
