"""The error every entry point (API, command line, pipeline) reports as bad input.

Each room has its own error for its own inputs (``DatasetError``, ``StorageError``,
``BackendError``); :class:`InputError` is for what the caller asked of the API: an output
folder that holds another result, a combination of options that cannot run. All of them
carry a message that says what is wrong and how to fix it; ``snn-rl`` prints it as one line.
"""


class InputError(ValueError):
    """A request the API refuses before it writes anything; the message says how to fix it."""


class DeploymentError(RuntimeError):
    """A deployment that was written but did not go through (mapping or submission failed)."""
