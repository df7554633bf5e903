"""The root of CATX's typed errors; every package raises subclasses of ``CatxError``.

Lives in ``ir`` because ``ir`` is the one package every other layer may import. A ``CatxError`` always reads as one
line of at most ``MAX_MESSAGE_CHARS`` characters, however large the value it quotes (the one place messages are
capped; the CLI prints ``str(error)``).
"""

MAX_MESSAGE_CHARS = 1000


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` on one line (line breaks become `` | ``), cut to ``limit`` characters with a note of what was cut."""
    flat = " | ".join(part.strip() for part in str(text).splitlines() if part.strip())
    if len(flat) <= limit:
        return flat
    keep = limit - 40                      # the note below is at most 40 characters
    return f"{flat[:keep]} ... [{len(flat) - keep:,} more characters]"


class CatxError(Exception):
    """Base class for every error CATX raises on purpose (bad input, unsupported model, ...)."""

    def __str__(self) -> str:
        return one_line(super().__str__())


class InputFileError(CatxError):
    """A file given to CATX cannot be read: missing, a directory, too large, not UTF-8, nested too deep."""


class OutputFileError(CatxError):
    """A file CATX was asked to write cannot be written (a directory, a missing folder, no permission)."""


class IRError(CatxError):
    """An IR graph or file is malformed."""


class IRValidationError(IRError):
    """A graph breaks an invariant; the message names the op, tensor and axis at fault."""


class IRFormatError(IRError):
    """A serialised IR document cannot be read (wrong format, version or field)."""


class OpLookupError(IRError):
    """A name given for an op matches none of the graph's ops, or several; lists the closest or all candidates."""
