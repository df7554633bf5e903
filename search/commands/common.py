"""Options every result-printing command shares: ``--json [FILE]`` and an example epilog on ``--help``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ir.files import write_text

STDOUT = "-"


def add_json(p: argparse.ArgumentParser, file_help: str = "") -> None:
    """``--json`` prints the results as JSON on stdout (nothing else there); ``--json FILE`` writes FILE."""
    p.add_argument("--json", nargs="?", const=STDOUT, metavar="FILE",
                   help="print the results as JSON on stdout instead of tables" +
                        (f"; --json FILE writes {file_help} to FILE" if file_help else "; --json FILE writes FILE"))


def json_to_stdout(args: argparse.Namespace) -> bool:
    return getattr(args, "json", None) == STDOUT


def emit(args: argparse.Namespace, doc: Any) -> None:
    """Print ``doc`` as JSON (``--json``) or write it to the file ``--json FILE`` names."""
    text = json.dumps(doc, indent=1, default=_plain)
    if json_to_stdout(args):
        sys.stdout.write(text + "\n")
    else:
        write_text(args.json, text, "JSON output")


def _plain(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, (tuple, set)):
        return list(x)
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"cannot write {type(x).__name__} as JSON")


def parser(sub: argparse._SubParsersAction, name: str, examples: str, **kw: Any) -> argparse.ArgumentParser:
    """A sub-command parser whose ``--help`` ends with examples (kept verbatim)."""
    return sub.add_parser(name, epilog="examples:\n" + examples.strip("\n"),
                          formatter_class=argparse.RawDescriptionHelpFormatter, **kw)
