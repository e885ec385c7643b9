"""Command-line entry point of the project (``snn-rl``)."""
