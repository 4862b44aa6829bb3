"""Every third-party import of the shipped packages is a declared dependency (issue 16).

A module that imports a distribution only installed as someone else's dependency (fontTools
through fpdf2, SQLAlchemy through sqlmodel) breaks the day that dependency drops it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("tracking", "carriers")


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {re.split(r"[\s<>=!~\[;]", spec, maxsplit=1)[0] for spec in project["dependencies"]}
    return {_canonical(name) for name in names}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imports(path: Path) -> set[str]:
    tops: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return tops


def _undeclared(paths: list[Path]) -> dict[str, set[str]]:
    """Imported top-level names whose distribution is not a runtime dependency -> files."""
    distributions = importlib.metadata.packages_distributions()
    declared = _declared()
    found: dict[str, set[str]] = {}
    for path in paths:
        for top in _imports(path):
            if top in sys.stdlib_module_names or top in SHIPPED or top == "__future__":
                continue
            owners = {_canonical(d) for d in distributions.get(top, [top])}
            if not owners & declared:
                found.setdefault(f"{top} ({', '.join(sorted(owners))})", set()).add(path.name)
    return found


def test_every_third_party_import_of_the_shipped_packages_is_declared() -> None:
    paths = [path for package in SHIPPED for path in sorted((ROOT / package).rglob("*.py"))]
    assert len(paths) > 100
    assert _undeclared(paths) == {}, "imported but not in pyproject.toml [project] dependencies"


def test_an_import_of_a_dev_only_distribution_is_reported(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import json\nimport yaml\nfrom fontTools.ttLib import TTFont\n")
    assert _undeclared([module]) == {"yaml (pyyaml)": {"m.py"}}
