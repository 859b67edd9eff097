"""The shape every service and the gateway keep as they grow (README "How it is built").

- the same modules everywhere: views in `web`, use cases in `handlers`, pure rules in `domain`,
  queries in `repository`, tables in `models`, events in `consumers` (services);
- pure rule modules (`domain*.py`) import neither Starlette nor SQLAlchemy, even indirectly;
- SQL text only in repositories, migrations, table declarations (server defaults) and the kernel's
  database plumbing;
- no import cycle among modules;
- no module over 400 lines, no function over 60 (migrations excluded).
"""

from __future__ import annotations

import ast
import fnmatch
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("ingest", "contact", "payments", "reporting")
COMMON_MODULES = ("app.py", "web.py", "handlers.py", "domain.py", "repository.py", "models.py")
# The kernel's own database plumbing: the unit of work, the outbox relay and inbox, migrations, the
# embedded server of `riscossa dev`.
KERNEL_SQL = {"services/kernel/db.py", "services/kernel/messaging.py", "services/kernel/migrate.py"}
KERNEL_SQL |= {"services/kernel/embedded.py", "services/kernel/migrate_erasure.py"}
SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|DROP|LOCK|SET LOCAL)\s")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def components() -> dict[str, Path]:
    found = {name: ROOT / "services" / name for name in SERVICES}
    found["gateway"] = ROOT / "gateway"
    return found


def python_modules() -> Iterator[Path]:
    for top in ("services", "gateway"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:
                yield path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("name", sorted(components()))
def test_every_service_and_the_gateway_have_the_same_modules(name: str) -> None:
    folder = components()[name]
    expected = [*COMMON_MODULES, "templates", "migrations"]
    if name != "gateway":
        expected.append("consumers.py")
    assert [m for m in expected if not (folder / m).exists()] == []


def pure_modules() -> list[str]:
    return sorted(module_name(p) for p in python_modules() if re.fullmatch(r"domain(_\w+)?\.py", p.name))


def test_pure_modules_are_found() -> None:
    assert {f"{c}.domain" for c in ("gateway", *(f"services.{s}" for s in SERVICES))} <= set(pure_modules())


@pytest.mark.parametrize("module", pure_modules())
def test_domain_modules_import_no_framework(module: str) -> None:
    probe = (
        f"import sys; import {module}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'starlette', 'sqlalchemy'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]", f"{module} pulls in {done.stdout.strip()}"


def strict_patterns() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    return [m for o in config if o.get("strict") for m in o["module"]]


@pytest.mark.parametrize("module", pure_modules())
def test_domain_modules_are_type_checked_strictly(module: str) -> None:
    assert any(fnmatch.fnmatchcase(module, pattern) for pattern in strict_patterns())


def sql_texts(path: Path) -> list[int]:
    """Lines of `text(...)` calls and of string constants that start like a SQL statement."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == "text":
                lines.append(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_START.match(node.value):
            lines.append(node.lineno)
    return lines


def sql_allowed(path: Path) -> bool:
    if re.fullmatch(r"models(_\w+)?\.py", path.name) or rel(path) in KERNEL_SQL:
        return True
    return re.fullmatch(r"repository(_\w+)?\.py", path.name) is not None


def test_sql_text_only_in_repositories_and_migrations() -> None:
    misplaced = {rel(p): sql_texts(p) for p in python_modules() if not sql_allowed(p)}
    assert {k: v for k, v in misplaced.items() if v} == {}


def test_the_sql_probe_sees_sql() -> None:
    assert sql_texts(ROOT / "services" / "kernel" / "messaging.py") != []


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every module of ours that `path` imports anywhere (TYPE_CHECKING and function bodies too)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found |= {f"{base}.{a.name}" for a in node.names} | {base}
    return {m for m in found if m in known and m != module_name(path)}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = list(python_modules())
    known = {module_name(p) for p in paths}
    # A package's `__init__` is not a module others depend on for these purposes.
    return {module_name(p): imports_of(p, known) - {"services", "gateway"} for p in paths}


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_over_400_lines() -> None:
    sizes = {rel(p): len(p.read_text().splitlines()) for p in python_modules()}
    assert {k: n for k, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_no_function_over_60_lines() -> None:
    long = {}
    for path in python_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long[f"{rel(path)}:{node.name}"] = size
    assert long == {}
