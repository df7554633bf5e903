"""One module per ``catx`` sub-command; each exposes ``register(subparsers)``.

Adding a command is adding a module here and its name to ``COMMANDS``.
"""

import argparse


def count(text: str) -> int:
    """An argparse type: an integer >= 0 (a number of rows, samples, ...)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {n}")
    return n


COMMANDS = [
    "search",
    "results",
    "report",
    "lower",
    "estimate",
    "inspect",
    "carbon",
    "proxy",
    "presets",
]
