"""One module per ``catx`` sub-command; each exposes ``register(subparsers)``.

Adding a command is adding a module here and its name to ``COMMANDS``.
"""

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
