"""A tenant-scoping lint: every repository query takes the tenant explicitly and uses it.

Row-level security would stop a forgotten filter anyway; this keeps the second line of defence in
place. Functions over global registries (tenants, users, API-key lookup before the tenant is known)
must be named in their module's `UNSCOPED` mapping with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import ROOT

REPOSITORIES = [
    *sorted(ROOT.glob("services/*/repository*.py")),
    *sorted(ROOT.glob("gateway/repository*.py")),
]


def _unscoped(tree: ast.Module) -> set[str]:
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if (
                any(isinstance(t, ast.Name) and t.id == "UNSCOPED" for t in targets)
                and node.value is not None
            ):
                value = ast.literal_eval(node.value)
                assert all(isinstance(reason, str) and reason for reason in value.values())
                return set(value)
    return set()


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    allowed = _unscoped(tree)
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    problems = []
    for node in tree.body:
        if not isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) or node.name in allowed:
            continue
        args = [a.arg for a in node.args.args + node.args.kwonlyargs]
        if "uow" not in args and "conn" not in args:
            continue
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        if "tenant_id" not in args:
            problems.append(f"{where}:{node.lineno} {node.name} takes no tenant_id")
        elif "tenant_id" not in used:
            problems.append(f"{where}:{node.lineno} {node.name} ignores its tenant_id")
    return problems


@pytest.mark.parametrize("path", REPOSITORIES, ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_functions_are_tenant_scoped(path: Path) -> None:
    assert _violations(path) == []


def test_the_lint_catches_a_forgotten_tenant(tmp_path: Path) -> None:
    bad = tmp_path / "repository.py"
    bad.write_text(
        "async def leak(uow, debtor_id):\n    return debtor_id\n"
        "async def ignores(uow, tenant_id, x):\n    return x\n"
    )
    problems = _violations(bad)
    assert [p.split()[1] for p in problems] == ["leak", "ignores"]
