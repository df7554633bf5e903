"""Guarded reading of every file a user hands CATX: one-line typed errors that name the file and what is wrong.

Every loader in CATX (ONNX, IR JSON, hardware, technology, scenario, study YAML, grid traces, checkpoints) reads
through this module, so a missing file, a directory, a device or pipe, a file over the size limit, bytes that are
not UTF-8, nesting deeper than ``MAX_DEPTH`` or a YAML alias "bomb" (aliases expanding past ``MAX_YAML_NODES``)
all give the same kind of error. Callers pass their own ``CatxError`` subclass as ``error`` (``HardwareError``,
``ScenarioError``, ...) so the error names the layer too; the default is ``InputFileError``.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from .errors import CatxError, InputFileError, OutputFileError

MAX_TEXT_BYTES = 64 * 2**20          # YAML, CSV and other hand-written files
MAX_JSON_BYTES = 1 * 2**30           # IR JSON of a very large model is tens of MB
MAX_DEPTH = 64                       # nesting of mappings and lists (real files use < 10)
MAX_YAML_NODES = 1_000_000           # nodes after expanding aliases (real files use < 10,000)

ErrorType = type[CatxError]


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


def check_file(path: str | os.PathLike, what: str = "file", error: ErrorType = InputFileError,
               max_bytes: int | None = None) -> Path:
    """``path`` as a Path when it is a readable regular file within ``max_bytes``; else ``error`` saying why."""
    try:
        p = Path(path)
        st = p.stat()
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except PermissionError:
        raise error(f"{path}: {what} cannot be read (permission denied)") from None
    except (OSError, ValueError, TypeError) as e:      # NUL in the name, name too long, a loop of links, ...
        raise error(f"{path!s:.200}: cannot open the {what} ({getattr(e, 'strerror', None) or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{p}: is a directory; give the {what} itself")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{p}: is not a regular file (a device, pipe or socket); give the {what} as a file")
    if max_bytes is not None and st.st_size > max_bytes:
        raise error(f"{p}: the {what} is {_size(st.st_size)}, over the {_size(max_bytes)} limit")
    return p


def read_bytes(path: str | os.PathLike, what: str = "file", error: ErrorType = InputFileError,
               max_bytes: int | None = MAX_TEXT_BYTES) -> bytes:
    """The file's bytes (at most ``max_bytes``)."""
    p = check_file(path, what, error, max_bytes)
    try:
        with open(p, "rb") as f:
            data = f.read(max_bytes + 1) if max_bytes is not None else f.read()
    except OSError as e:
        raise error(f"{p}: cannot read the {what} ({e.strerror or e})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise error(f"{p}: the {what} is over the {_size(max_bytes)} limit")
    return data


def decode(data: bytes, source: str, what: str = "file", error: ErrorType = InputFileError) -> str:
    """UTF-8 text (a leading byte-order mark is dropped); ``error`` naming the first bad byte otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        bad = data[e.start:e.start + 1]
        raise error(f"{source}: the {what} is not UTF-8 text (byte 0x{bad.hex()} at offset {e.start}); "
                    "save it as UTF-8") from None


def read_text(path: str | os.PathLike, what: str = "file", error: ErrorType = InputFileError,
              max_bytes: int | None = MAX_TEXT_BYTES) -> str:
    """The file's UTF-8 text."""
    return decode(read_bytes(path, what, error, max_bytes), str(path), what, error)


def write_text(path: str | os.PathLike, text: str, what: str = "output file",
               error: ErrorType = OutputFileError) -> Path:
    """Write ``text`` to ``path``; ``error`` naming the file when it cannot be written."""
    p = Path(path)
    try:
        p.write_text(text)
    except (OSError, ValueError) as e:     # a directory, a missing folder, no permission, a NUL in the name
        raise error(f"{path!s:.200}: cannot write the {what} ({getattr(e, 'strerror', None) or e})") from None
    return p


# -- YAML ----------------------------------------------------------------------------------------------------

class _Limit(Exception):
    """Raised inside the YAML loader when a document breaks a limit; turned into the caller's error."""


class _GuardedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a nesting limit while composing and an alias-expansion limit before building."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Limit(f"nested more than {MAX_DEPTH} levels deep (line {mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        _expanded(node)
        return self.construct_document(node)


def _expanded(root: yaml.Node) -> None:
    """Raise _Limit when aliases expand the document past MAX_YAML_NODES nodes or MAX_DEPTH levels, or loop."""
    memo: dict[int, tuple[int, int]] = {}          # id(node) -> (nodes, depth) once finished; (-1, -1) while open
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [x for pair in node.value for x in pair]
        if done:
            sizes = [memo[id(c)] for c in children]
            n = 1 + sum(s[0] for s in sizes)
            d = 1 + max((s[1] for s in sizes), default=0)
            if n > MAX_YAML_NODES:
                raise _Limit(f"aliases expand it to more than {MAX_YAML_NODES:,} nodes (an alias bomb?)")
            if d > MAX_DEPTH:
                raise _Limit(f"aliases nest it more than {MAX_DEPTH} levels deep")
            memo[key] = (n, d)
            continue
        if key in memo:
            if memo[key] == (-1, -1):
                raise _Limit("an alias refers to a node that contains it (a recursive structure)")
            continue
        memo[key] = (-1, -1)
        stack.append((node, True))
        for c in children:
            if id(c) in memo and memo[id(c)] == (-1, -1):
                raise _Limit("an alias refers to a node that contains it (a recursive structure)")
            if id(c) not in memo:
                stack.append((c, False))


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "empty"}.get(type(value),
                                                                                      type(value).__name__)


def _expect(doc: Any, expect: type | None, source: str, what: str, error: ErrorType) -> Any:
    if expect is dict and doc is None:
        raise error(f"{source}: the {what} is empty; it must be a mapping of fields")
    if expect is not None and not isinstance(doc, expect):
        need = "a mapping of fields" if expect is dict else _kind(expect())
        raise error(f"{source}: the {what} must be {need} at the top level, got {_kind(doc)}")
    return doc


def parse_yaml(text: str, source: str = "<yaml>", what: str = "YAML file", error: ErrorType = InputFileError,
               expect: type | None = None) -> Any:
    """A YAML document (safe types only) within the nesting and alias limits."""
    loader = None
    try:
        loader = _GuardedLoader(text)         # its reader refuses control characters (NUL, ...) right here
        doc = loader.get_single_data()
    except _Limit as e:
        raise error(f"{source}: the {what} is {e}" if str(e).startswith("nested") else
                    f"{source}: in the {what}, {e}") from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise error(f"{source}: the {what} is not valid YAML{where}: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise error(f"{source}: the {what} is not valid YAML: {str(e).splitlines()[0] if str(e) else e}") from None
    except (ValueError, OverflowError, TypeError) as e:   # a scalar PyYAML cannot build: 2024-13-45, a 5,000-digit int
        raise error(f"{source}: the {what} has a value YAML cannot read ({str(e).splitlines()[0]:.200})") from None
    except RecursionError:
        raise error(f"{source}: the {what} is nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    return _expect(doc, expect, source, what, error)


def load_yaml(path: str | os.PathLike, what: str = "YAML file", error: ErrorType = InputFileError,
              expect: type | None = dict, max_bytes: int | None = MAX_TEXT_BYTES) -> Any:
    """Read and parse a YAML file; by default its top level must be a mapping."""
    return parse_yaml(read_text(path, what, error, max_bytes), str(path), what, error, expect)


# -- JSON ----------------------------------------------------------------------------------------------------

def _no_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} (JSON allows finite numbers only)")


def depth(doc: Any) -> int:
    """Nesting depth of plain JSON/YAML data (iterative, so any depth is measured safely)."""
    best, stack = 0, [(doc, 1)]
    while stack:
        x, d = stack.pop()
        if isinstance(x, dict):
            best = max(best, d)
            stack.extend((v, d + 1) for v in x.values())
        elif isinstance(x, (list, tuple)):
            best = max(best, d)
            stack.extend((v, d + 1) for v in x)
    return best


def parse_json(text: str, source: str = "<json>", what: str = "JSON file", error: ErrorType = InputFileError,
               expect: type | None = None, max_depth: int = MAX_DEPTH, finite: bool = True) -> Any:
    """A JSON document nested at most ``max_depth`` levels; with ``finite``, NaN and Infinity are refused."""
    try:
        doc = json.loads(text, parse_constant=_no_constant) if finite else json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f"{source}: the {what} is not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise error(f"{source}: the {what} is nested too deeply (limit {max_depth} levels)") from None
    except (ValueError, OverflowError) as e:             # NaN/Infinity, an integer of more than 4,300 digits
        raise error(f"{source}: the {what} has a number JSON cannot hold here ({str(e).splitlines()[0]:.200})") \
            from None
    if depth(doc) > max_depth:
        raise error(f"{source}: the {what} is nested more than {max_depth} levels deep")
    return _expect(doc, expect, source, what, error)


def load_json(path: str | os.PathLike, what: str = "JSON file", error: ErrorType = InputFileError,
              expect: type | None = dict, max_bytes: int | None = MAX_JSON_BYTES) -> Any:
    """Read and parse a JSON file; by default its top level must be an object."""
    return parse_json(read_text(path, what, error, max_bytes), str(path), what, error, expect)


def finite_number(value: Any) -> bool:
    """True for an int or float (not bool) that is finite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
