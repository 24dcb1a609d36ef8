"""One module per CLI subcommand (see edgekit/cli.py)."""
