"""The rules of the house, checked on the source: short functions, no import cycles, frameworks only in
runtime/, notebooks that use the package's public names and style instead of their own copies."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tpu_lecture"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
FRAMEWORKS = {"tensorflow", "jax", "jaxlib", "torch", "tf_keras"}
MAX_FUNCTION_LINES = 60


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every module an import statement in ``path`` names (module-level or inside functions), with its line."""
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_function_is_longer_than_sixty_lines(path):
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
            for node in ast.walk(_tree(path))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"split these into named steps: {', '.join(long)}"


def test_the_package_has_no_import_cycles():
    names = {_module_name(p): p for p in MODULES}
    graph = {}
    for name, path in names.items():
        if path.name == "__init__.py":
            continue  # the lazy façades import on demand; their targets are what counts
        graph[name] = {target for target, _ in _imports(path) if target in names and target != name
                       and names[target].name != "__init__.py"}
    cycles = []

    def visit(node, stack, seen):
        for nxt in sorted(graph.get(node, ())):
            if nxt in stack:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in seen:
                seen.add(nxt)
                visit(nxt, stack + [nxt], seen)

    for start in sorted(graph):
        visit(start, [start], {start})
    assert not cycles, "import cycles: " + "; ".join(sorted(set(cycles))[:5])


@pytest.mark.parametrize("path", [p for p in MODULES if "runtime" not in p.relative_to(PACKAGE).parts],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_frameworks_are_imported_only_in_runtime(path):
    bad = [f"{target} (line {line})" for target, line in _imports(path) if target.split(".")[0] in FRAMEWORKS]
    assert not bad, f"import these through tpu_lecture.runtime instead: {', '.join(bad)}"


@pytest.mark.parametrize("path", [p for p in MODULES if "runtime" not in p.relative_to(PACKAGE).parts],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_framework_branches_live_in_runtime(path):
    branches = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                values = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                if any(isinstance(v, ast.Constant) and v.value in ("jax", "tensorflow") for v in values):
                    branches.append(f"line {node.lineno}")
    assert not branches, f"a branch on the framework's name belongs in a runtime adapter: {', '.join(branches)}"


def test_import_tpu_lecture_is_cheap_and_framework_free():
    code = ("import sys, time; t = time.perf_counter(); import tpu_lecture; t = time.perf_counter() - t; "
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'tensorflow', 'jax', 'keras', 'matplotlib', 'torch', 'ipywidgets'}); print(t, heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    seconds, heavy = out.stdout.split(" ", 1)
    assert heavy.strip() == "[]"
    assert float(seconds) < 0.5


def _code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_take_their_look_from_the_package(path):
    code = "\n".join(_code_cells(path))
    assert not re.findall(r"#[0-9a-fA-F]{6}\b", code), "colours come from tpu_lecture.viz.style"
    assert "rcParams" not in code, "figure settings come from tpu_lecture.viz.style.use()"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_use_only_public_names(path):
    code = "\n".join(_code_cells(path))
    private = re.findall(r"\btl(?:\.\w+)*\._\w+|from tpu_lecture[\w.]* import [^\n]*\b_[a-z]\w*", code)
    assert not private, f"notebooks use public names only: {private}"
