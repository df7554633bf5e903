"""The guarded loader (ir.files) and the loaders that use it: every bad file is a typed one-line error naming it."""

from __future__ import annotations

import os

import pytest

import ir
from backend import Hardware, HardwareError, TechDataError
from backend.carbon import ScenarioError
from backend.carbon.scenario import Scenario
from backend.carbon.trace import TraceError, load_trace
from backend.tech import load_overrides
from ir.errors import MAX_MESSAGE_CHARS, CatxError, one_line
from ir.files import MAX_DEPTH, MAX_YAML_NODES, load_json, load_yaml, parse_yaml, read_text
from search import StudyError
from search.study import load as load_study

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))

# each loader a user can hand a file to, with the error type it must raise
LOADERS = [
    ("hardware", Hardware.from_yaml, HardwareError),
    ("scenario", Scenario.from_yaml, ScenarioError),
    ("study", load_study, StudyError),
    ("tech overrides", load_overrides, TechDataError),
    ("IR", ir.load, ir.IRError),
]


def _bad_files(tmp_path):
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    (tmp_path / "deep.yaml").write_text("[" * 5000 + "]" * 5000)
    (tmp_path / "deep.json").write_text("[" * 100_000)
    (tmp_path / "bomb.yaml").write_text(ALIAS_BOMB)
    (tmp_path / "adir.yaml").mkdir()
    return {"not UTF-8": tmp_path / "latin1.yaml", "too deep": tmp_path / "deep.yaml",
            "too deep JSON": tmp_path / "deep.json", "alias bomb": tmp_path / "bomb.yaml",
            "a directory": tmp_path / "adir.yaml", "missing": tmp_path / "missing.yaml", "a device": "/dev/null"}


@pytest.mark.parametrize("kind,loader,error", LOADERS, ids=[x[0] for x in LOADERS])
def test_every_loader_gives_a_typed_error_naming_the_file(tmp_path, kind, loader, error):
    for why, path in _bad_files(tmp_path).items():
        with pytest.raises(error) as e:
            loader(path)
        msg = str(e.value)
        assert str(path) in msg, (why, msg)
        assert "\n" not in msg and len(msg) <= MAX_MESSAGE_CHARS, (why, msg)


def test_messages_say_what_is_wrong(tmp_path):
    files = _bad_files(tmp_path)
    expect = {"not UTF-8": "not UTF-8 text (byte 0xe9 at offset 9)", "too deep": f"nested more than {MAX_DEPTH}",
              "too deep JSON": "nested too deeply", "alias bomb": f"more than {MAX_YAML_NODES:,} nodes",
              "a directory": "is a directory", "missing": "no such", "a device": "not a regular file"}
    for why, text in expect.items():
        with pytest.raises(CatxError, match=text.replace("(", r"\(").replace(")", r"\)")):
            (load_json if why == "too deep JSON" else load_yaml)(files[why])


def test_alias_bomb_message_is_short_and_fast(tmp_path):
    """The bomb expands to 10**9 strings; it is refused before anything expands it (old code: a 2 GB message)."""
    p = tmp_path / "bomb.yaml"
    p.write_text(ALIAS_BOMB + "z: [*i, *i, *i, *i, *i, *i, *i, *i, *i, *i]\n")
    with pytest.raises(HardwareError) as e:
        Hardware.from_yaml(p)
    assert len(str(e.value)) < 300


def test_aliases_within_the_limit_still_load():
    doc = parse_yaml("base: &b {x: 1, y: [1, 2]}\nother: *b\nmerged: {<<: *b, x: 3}\n")
    assert doc == {"base": {"x": 1, "y": [1, 2]}, "other": {"x": 1, "y": [1, 2]}, "merged": {"x": 3, "y": [1, 2]}}


def test_recursive_alias_is_refused():
    with pytest.raises(CatxError, match="recursive"):
        parse_yaml("a: &a [1, *a]\n")


def test_size_limit(tmp_path):
    p = tmp_path / "big.yaml"
    p.write_bytes(b"a: 1\n" * 1000)
    assert read_text(p, max_bytes=5000) == "a: 1\n" * 1000
    with pytest.raises(CatxError, match="over the 4.9 KiB limit"):
        read_text(p, max_bytes=4999)


def test_values_yaml_cannot_build_are_typed(tmp_path):
    for text in ("when: 2024-13-45\n", f"n: {'9' * 5000}\n", "? [a, b]\n: c\n", "x: !!python/object:os.system x\n"):
        with pytest.raises(CatxError):
            parse_yaml(text)


def test_not_a_mapping(tmp_path):
    p = tmp_path / "list.yaml"
    p.write_text("- 1\n- 2\n")
    with pytest.raises(HardwareError, match="must be a mapping"):
        Hardware.from_yaml(p)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(HardwareError, match="empty"):
        Hardware.from_yaml(empty)


def test_json_rejects_non_finite_numbers():
    with pytest.raises(CatxError, match="non-finite number NaN"):
        ir.files.parse_json('{"a": NaN}')


def test_trace_file_errors(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(b"hour,g_per_kwh\n0,1\x00\n")
    with pytest.raises(TraceError, match="t.csv"):
        load_trace(p)
    with pytest.raises(TraceError, match="is a directory"):
        load_trace(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    p = tmp_path / "secret.yaml"
    p.write_text("a: 1\n")
    p.chmod(0)
    with pytest.raises(CatxError, match="permission denied"):
        load_yaml(p)


def test_error_messages_are_one_capped_line():
    e = CatxError("first line\nsecond " + "x" * 10_000)
    text = str(e)
    assert "\n" not in text and len(text) <= MAX_MESSAGE_CHARS
    kept = text.split(" ... [")[0]
    full = "first line | second " + "x" * 10_000
    assert full.startswith(kept) and text.endswith(f"[{len(full) - len(kept):,} more characters]")
    assert one_line("short") == "short"
