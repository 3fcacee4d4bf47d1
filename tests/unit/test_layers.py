"""Layers point one way (pages -> dashboard -> sync): checked on every module's real imports."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_sync_never_imports_streamlit_or_the_dashboard() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & {"streamlit", "dashboard", "pages", "starlette"})
        for p in _modules("sync")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) > 10  # the scan really saw the package


def test_pages_and_dashboard_never_import_a_provider_sdk() -> None:
    sdks = {"stripe", "braintree", "square", "paypalserversdk"}
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & sdks)
        for p in _modules("dashboard") + _modules("pages")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_pages_never_run_sql_themselves() -> None:
    """SQL lives in dashboard/queries: a page calls a query function, never the store directly."""
    offenders = [
        str(p.relative_to(ROOT)) for p in _modules("pages")
        if ".query(" in p.read_text() or "cursor()" in p.read_text()
    ]
    assert offenders == []
