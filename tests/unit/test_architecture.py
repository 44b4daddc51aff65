"""The domain is pure: it imports only the standard library and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "src" / "jisflow" / "domain"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_domain_imports_only_the_standard_library_and_itself():
    offenders = {}
    for path in sorted(DOMAIN.rglob("*.py")):
        bad = {
            name for name in imported_modules(path)
            if not name.startswith("jisflow.domain") and name.split(".")[0] not in sys.stdlib_module_names and name != "__future__"
        }
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}


def test_the_check_sees_a_forbidden_import(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("import sqlalchemy\nfrom jisflow.adapters import memory\nimport datetime\n")
    assert imported_modules(sample) == {"sqlalchemy", "jisflow.adapters", "datetime"}
