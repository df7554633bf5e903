"""The rule registry is a leaf and the lowering modules import each other without a circle (issue 13, part 8)."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOWERING = sorted([*(ROOT / "frontend").glob("*.py"), *(ROOT / "frontend" / "rules").glob("*.py")])


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports(path: Path, known: set[str]) -> set[str]:
    """Lowering modules that ``path`` imports anywhere (functions included), except under ``if TYPE_CHECKING``."""
    tree = ast.parse(path.read_text())
    parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            names = ([base] if node.module else []) + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        found |= {n for n in names if n in known and n != me}
    return found


def graph() -> dict[str, set[str]]:
    known = {module_name(p) for p in LOWERING}
    return {module_name(p): imports(p, known) for p in LOWERING}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(n: str, stack: list[str]) -> None:
        state[n] = "open"
        for m in sorted(g[n]):
            if state.get(m) == "open":
                found.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m, stack + [m])
        state[n] = "done"
    for n in sorted(g):
        if n not in state:
            visit(n, [n])
    return found


def test_registry_imports_no_rule_module():
    code = ("import sys, frontend.registry as r\n"
            "bad = sorted(m for m in sys.modules if m.startswith('frontend.rules') or "
            "m in ('frontend.relax_to_ir', 'frontend.tir_generic'))\n"
            "print(len(r.RULES), bad)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split(maxsplit=1) == ["0", "[]\n"], out.stdout + out.stderr


def test_importing_the_rules_package_registers_every_family():
    import pkgutil

    import frontend.rules
    from frontend.registry import RULES

    families = {m.name for m in pkgutil.iter_modules(frontend.rules.__path__)} - {"common"}
    assert all(hasattr(frontend.rules, f) for f in families), "the package __init__ must import every family"
    registered_by = {}
    for path in (ROOT / "frontend" / "rules").glob("*.py"):
        registered_by[path.stem] = path.read_text().count("\nregister(")
    assert all(registered_by[f] > 0 for f in families), registered_by
    assert sum(registered_by.values()) == len(RULES), "every rule is registered by one line in a family module"
    assert {"relax.matmul", "relax.nn.conv2d", "relax.add", "relax.sum", "relax.call_tir"} <= set(RULES)


def test_rule_modules_import_the_registry_not_the_converter():
    g = graph()
    assert g["frontend.registry"] == set()
    for name, deps in g.items():
        if name.startswith("frontend.rules.") and name != "frontend.rules.common":
            assert "frontend.registry" in deps, name
            assert "frontend.relax_to_ir" not in deps, f"{name} imports the converter"


def test_no_import_circle_among_lowering_modules():
    assert cycles(graph()) == []


def test_cycle_finder_finds_the_old_circle():
    old = {"frontend.relax_to_ir": {"frontend.rules", "frontend.tir_generic"},
           "frontend.rules": {"frontend.relax_to_ir"}, "frontend.tir_generic": {"frontend.relax_to_ir"}}
    assert sorted(map(tuple, cycles(old))) == [("frontend.relax_to_ir", "frontend.rules", "frontend.relax_to_ir"),
                                               ("frontend.relax_to_ir", "frontend.tir_generic",
                                                "frontend.relax_to_ir")]
