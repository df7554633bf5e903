"""The layer rule: ir imports none of the others; frontend and backend import ir only; search may import all."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ir", "frontend", "backend", "search")
ALLOWED = {"ir": set(), "frontend": {"ir"}, "backend": {"ir"}, "search": {"ir", "frontend", "backend"}}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("pkg", PACKAGES)
def test_layer_rule(pkg):
    files = sorted((ROOT / pkg).rglob("*.py"))
    assert files, f"package {pkg}/ is empty"
    bad = {str(f.relative_to(ROOT)): sorted(imported_packages(f) - ALLOWED[pkg] - {pkg}) for f in files}
    bad = {f: v for f, v in bad.items() if v}
    assert not bad, f"{pkg}/ may import only {sorted(ALLOWED[pkg])}; offending imports: {bad}"


def test_checker_catches_a_violation(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("import backend.mapper\nfrom search import cli\nimport numpy\n")
    assert imported_packages(f) == {"backend", "search"}
