"""Architecture rules a reader relies on (issue 17): no import circle among codesign's modules.

Every import counts, module-level or inside a function: a lazy import hides a circle from Python
but not from a reader, and the next refactor that hoists it turns it into an ImportError.

So does the package init an import runs: importing `codesign.a.b` first runs `codesign/a/__init__.py`,
so a package init that re-exports its submodules puts all of them behind every import of any one of
them (`kinds/__init__ -> kinds.dense -> models -> kinds.registry`, which runs `kinds/__init__`, was one).
The packages that hold the importer itself are left out: Python imported them before it.
"""
import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "codesign"


def _modules() -> dict:
    mods = {}
    for f in PACKAGE.rglob("*.py"):
        parts = list(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    return mods


def import_graph() -> dict:
    """module -> set of codesign modules it imports (a `from pkg import name` names pkg.name if a module)."""
    mods = _modules()
    graph = {m: set() for m in mods}
    for mod, f in mods.items():
        package = mod.split(".") if f.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            graph[mod] |= {t for t in targets if t in mods and t != mod}
    return with_package_inits(graph)


def _packages(mod: str) -> set:
    """The packages importing `mod` runs first: codesign.a.b.c -> {codesign, codesign.a, codesign.a.b}."""
    parts = mod.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def with_package_inits(graph: dict) -> dict:
    """Each import of a.b.c also an import of a and a.b (their __init__), unless the importer lives in them."""
    return {m: targets | {p for t in targets for p in _packages(t) if p in graph and p != m and p not in _packages(m)}
            for m, targets in graph.items()}


def cycles(graph: dict) -> list:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checker_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_checker_counts_package_inits():
    """pkg/__init__ re-exports pkg.a; pkg.a imports x; x imports pkg.b: a circle only through pkg/__init__.
    A module importing its own package's sibling is not one (its package was imported before it)."""
    graph = {"pkg": {"pkg.a"}, "pkg.a": {"x", "pkg.b"}, "pkg.b": set(), "x": {"pkg.b"}}
    assert cycles(graph) == []
    assert cycles(with_package_inits(graph)) == [["pkg", "pkg.a", "x"]]
    assert cycles(with_package_inits({"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": set()})) == []


def test_no_import_circles():
    graph = import_graph()
    assert "codesign.flow" in graph and graph["codesign.cli"], "the import graph was not read"
    assert cycles(graph) == []


def unresolved_imports() -> list:
    """(module, imported name) of every relative or `codesign.` import that names no codesign module or package.

    A moved module leaves such imports behind where only a lazy import (inside a function) names it,
    and the import graph above would silently drop them: they fail only when that function runs."""
    mods = _modules()
    missing = []
    for mod, f in mods.items():
        package = mod.split(".") if f.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "codesign":
                base = node.module
            elif isinstance(node, ast.Import):
                missing += [(mod, a.name) for a in node.names
                            if a.name.split(".")[0] == "codesign" and a.name not in mods]
                continue
            else:
                continue
            if base not in mods:
                missing.append((mod, base))
    return sorted(set(missing))


def test_every_internal_import_names_a_module():
    assert unresolved_imports() == []


def test_the_import_checker_finds_a_moved_module(tmp_path, monkeypatch):
    pkg = tmp_path / "codesign"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .gone.layer import X\n    from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("from ..a import f\nimport codesign.gone\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    assert unresolved_imports() == [("codesign.a", "codesign.gone.layer"), ("codesign.sub.b", "codesign.gone")]
