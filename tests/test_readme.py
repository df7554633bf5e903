"""README.md's two set-up commands stay true: CI runs the test command verbatim; both install from constraints."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", setup, flags=re.S)


def test_readme_has_exactly_two_setup_commands():
    cmds = readme_commands()
    assert len(cmds) == 2, cmds
    for c in cmds:
        assert "\n" not in c.strip() and "-c constraints.txt" in c


def test_ci_runs_the_readme_test_command():
    test_cmd = readme_commands()[1].strip()
    assert "pytest" in test_cmd
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_cmd in ci, f"the README test command {test_cmd!r} is not a line of .ci/run"


def test_constraints_pin_the_torch_pair():
    pins = (ROOT / "constraints.txt").read_text().splitlines()
    assert "torch==2.14.1" in pins and "torchvision==0.29.1" in pins
