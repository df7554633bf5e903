"""CLI options are validated or take effect: --bits changes the hardware, --trials 0 and --seed -1 are refused,
an alias bomb prints one short line, and `catx lower --help` says module:callable runs code."""

from __future__ import annotations

import json
import re

import pytest

from search.cli import build_parser, main

from .test_files import ALIAS_BOMB


def _estimate(tmp_path, capsys, *extra):
    out = tmp_path / f"est{'_'.join(extra)}.json"
    rc = main(["estimate", "gemm:197,768,768", "--hardware", "catransformers-edge", "--json", str(out), *extra])
    capsys.readouterr()
    assert rc == 0
    return json.loads(out.read_text())


def test_bits_changes_the_estimate(tmp_path, capsys):
    """Old code: --bits 3, 8, 16 and 1000 all gave the same estimate."""
    default = _estimate(tmp_path, capsys)
    by_bits = {b: _estimate(tmp_path, capsys, "--bits", str(b)) for b in (4, 8, 16)}
    assert by_bits[8]["energy_j"] == default["energy_j"]          # the edge template is 8-bit
    energies = [by_bits[b]["energy_j"] for b in (4, 8, 16)]
    assert energies[0] < energies[1] < energies[2]
    assert by_bits[16]["area_mm2"] > by_bits[8]["area_mm2"]          # 16-bit MACs are larger


@pytest.mark.parametrize("bits", ["0", "1000"])
def test_bits_out_of_range_is_an_error(capsys, bits):
    assert main(["estimate", "gemm:8,8,8", "--hardware", "catransformers-edge", "--bits", bits]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--bits {bits}: bits.weight" in err


def test_lower_bits_changes_the_bytes(capsys):
    assert main(["lower", "gemm:8,8,8", "--bits", "16", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["ops"]
    assert [r["bytes"] for r in rows] == [384]          # three 8x8 operands at 2 bytes (192 at the default 8 bits)
    assert main(["lower", "gemm:8,8,8", "--bits", "0"]) == 2
    assert "--bits must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["search", "flagship", "--trials", "0", "--out", "{tmp}"], "--trials must be >= 1, got 0"),
    (["search", "hw-carbon", "--trials", "-5", "--out", "{tmp}"], "--trials must be >= 1, got -5"),
    (["search", "hw-carbon", "--seed", "-1", "--out", "{tmp}"], r"optimizer.seed \(--seed\): must be an integer"),
])
def test_search_options_are_refused_before_work(tmp_path, capsys, argv, message):
    """Old code: flagship --trials 0 ran the full 1,000 trials; a negative seed leaked a numpy error."""
    argv = [a.format(tmp=tmp_path / "out") for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert re.search(message, err)
    assert not (tmp_path / "out" / "hardware").exists()


def test_alias_bomb_prints_one_short_line(tmp_path, capsys):
    p = tmp_path / "hw.yaml"
    p.write_text(ALIAS_BOMB)
    assert main(["estimate", "gemm:8,8,8", "--hardware", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 300 and "alias" in err


def test_module_callable_is_documented_as_running_code():
    lower = build_parser()._subparsers._group_actions[0].choices["lower"]
    text = " ".join(lower.format_help().split())
    assert "runs arbitrary importable Python code" in text
    assert "it runs arbitrary Python code" in text            # the SPEC argument's own help
