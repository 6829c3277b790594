"""The layout rules of the package, read from the source: packages by stage, no import circles,
the training programs imported by nothing that answers, modules and functions small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

RAG = Path(__file__).resolve().parents[1] / "rag"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    out = {}
    for path in RAG.rglob("*.py"):
        parts = path.relative_to(RAG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every rag module ``path`` imports, at the top or inside a function (lazy imports count)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {m for m in found if m in modules and m != "rag"}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def test_no_module_imports_itself_back() -> None:
    graph = _graph()
    cycles = []

    def visit(node: str, trail: list[str], done: set[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in trail:
                cycles.append(trail[trail.index(nxt) :] + [nxt])
            elif nxt not in done:
                visit(nxt, [*trail, nxt], done)
        done.add(node)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start], done)
    assert not cycles, cycles


def test_the_checker_sees_lazy_imports() -> None:
    modules = _modules()
    assert "rag.index.ray_workers" in _imports(modules["rag.index.sync"], modules)  # imported inside a function


def test_training_is_imported_only_by_training_and_evaluation_only_by_app_and_training() -> None:
    for name, deps in _graph().items():
        if not name.startswith("rag.training"):
            assert not {d for d in deps if d.startswith("rag.training")}, name
        if not name.startswith(("rag.training", "rag.evaluation", "rag.app")):
            assert not {d for d in deps if d.startswith("rag.evaluation")}, name


def test_lower_layers_never_import_upper_ones() -> None:
    """ingest and models know nothing of the index or of answering; the index nothing of answering."""
    below = {
        "rag.ingest": ("rag.index", "rag.answer", "rag.pipeline", "rag.app", "rag.models"),
        "rag.models": ("rag.index", "rag.answer", "rag.pipeline", "rag.app", "rag.ingest"),
        "rag.index": ("rag.answer", "rag.pipeline", "rag.app"),
        "rag.answer": ("rag.pipeline", "rag.app"),
    }
    for name, deps in _graph().items():
        for package, forbidden in below.items():
            if name.startswith(package):
                assert not {d for d in deps if d.startswith(forbidden)}, (name, deps)


def test_modules_and_functions_are_small() -> None:
    long_modules, long_functions = [], []
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append(name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                    long_functions.append(f"{name}.{node.name} ({node.end_lineno - node.lineno + 1})")
    assert not long_modules and not long_functions, (long_modules, long_functions)


def test_tests_mirror_the_packages() -> None:
    """A test folder per package of rag/, so a module's tests are found where the module is."""
    tests = Path(__file__).resolve().parent
    folders = {p.name for p in tests.iterdir() if (p / "__init__.py").is_file()}
    packages = {p.parent.name for p in RAG.glob("*/__init__.py")}
    assert folders == packages
