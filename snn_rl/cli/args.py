"""What every ``snn-rl`` subcommand shares: argument types and one-line usage errors."""

from __future__ import annotations

import argparse

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage text is one ``--help`` away)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def number(cast: type, positive: bool):
    """An argparse ``type``: ``cast`` (int or float) of the text, > 0 (``positive``) or >= 0."""
    noun = "a whole number" if cast is int else "a number"

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if not (value > 0 if positive else value >= 0):  # a NaN fails both
            raise argparse.ArgumentTypeError(f"must be {'positive' if positive else '>= 0'}, got {value}")
        return value

    return parse


positive_int = number(int, positive=True)
non_negative_int = number(int, positive=False)
positive_float = number(float, positive=True)
non_negative_float = number(float, positive=False)

DATASET_HELP = "built-in name (abcd, alphabet, digits, digits-test) or a data-set file (default: abcd)"
PARAMS_HELP = ("parameters: a named set (seed, reward, ...), a YAML/JSON file or an inline JSON object "
               "(default: those recorded beside the weights, or model/params.py's defaults for training)")
