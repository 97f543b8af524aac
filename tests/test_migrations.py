"""Migrations run the same whenever they run: they import no live application code, only what
Django's migration writer serialises (a field's default or storage callable)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("tickets", "evidence", "integrations")
# `import <module>` at the top, as the migration writer emits it for a serialised callable.
SERIALISED = {"tickets.models", "evidence.storage", "integrations.models"}
MIGRATIONS = sorted(path for app in APPS for path in (ROOT / app / "migrations").glob("[0-9]*.py"))


@pytest.mark.parametrize("path", MIGRATIONS, ids=lambda path: f"{path.parent.parent.name}/{path.name}")
def test_a_migration_imports_no_live_application_code(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    top_level = set(tree.body)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""] if node.level == 0 else ["." * node.level + (node.module or "")]
        else:
            continue
        for module in modules:
            ours = module.startswith(".") or module.split(".")[0] in APPS
            serialised = isinstance(node, ast.Import) and node in top_level and module in SERIALISED
            if ours and not serialised:
                found.append(f"line {node.lineno}: {module}")
    assert found == [], f"{path.name} imports application code: {found}"


def test_the_check_sees_every_migration():
    assert len(MIGRATIONS) >= 20 and any(path.name.startswith("0002_seed") for path in MIGRATIONS)
