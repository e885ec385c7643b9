"""What every ``snn-rl`` subcommand shares: argument types and one-line usage errors."""

from __future__ import annotations

import argparse
from typing import Callable

from snn_rl.backends.base import max_threads
from snn_rl.model.text_input import excerpt

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage text is one ``--help`` away)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def number(cast: type, positive: bool, maximum: float | Callable[[], float] | None = None):
    """An argparse ``type``: ``cast`` (int or float) of the text, > 0 (``positive``) or >= 0,
    and at most ``maximum`` (a number, or a function giving it when the argument is read)."""
    noun = "a whole number" if cast is int else "a number"

    def parse(text: str):
        try:
            value = cast(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected {noun}, got {excerpt(text, 40)}") from None
        if not (value > 0 if positive else value >= 0):  # a NaN fails both
            raise argparse.ArgumentTypeError(f"must be {'positive' if positive else '>= 0'}, got {value}")
        top = maximum() if callable(maximum) else maximum
        if top is not None and not value <= top:
            raise argparse.ArgumentTypeError(f"must be at most {top:g}, got {value:g}")
        return value

    return parse


positive_int = number(int, positive=True)
non_negative_int = number(int, positive=False)
positive_float = number(float, positive=True)
non_negative_float = number(float, positive=False)

#: bounded arguments: a typo of a few digits is refused at once instead of running for ever
threads_arg = number(int, positive=True, maximum=max_threads)
repeats_arg = number(int, positive=True, maximum=1000)
seed_arg = number(int, positive=False, maximum=2**32 - 1)
epochs_arg = number(int, positive=True, maximum=100_000)
windows_arg = number(int, positive=True, maximum=100_000)
flips_arg = number(int, positive=False, maximum=10_000)

DATASET_HELP = "built-in name (abcd, alphabet, digits, digits-test) or a data-set file (default: abcd)"
PARAMS_HELP = ("parameters: a named set (seed, reward, ...), a YAML/JSON file or an inline JSON object "
               "(default: those recorded beside the weights, or model/params.py's defaults for training)")
