"""The docs site's API reference covers the public API, named by the paths users import."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"
# Each public module and the page that documents it.
PAGES = {
    "reseller_plans": REFERENCE / "reseller_plans.md",
    "reseller_plans.testing": REFERENCE / "testing.md",
    "reseller_plans.service_manager": REFERENCE / "service_manager.md",
    "reseller_plans.webhooks": REFERENCE / "webhooks.md",
}
DIRECTIVE = re.compile(r"^::: (\S+)$", re.MULTILINE)


def _public_names(module_name: str) -> set[str]:
    module = importlib.import_module(module_name)
    return {name for name in module.__all__ if not name.startswith("__")}


@pytest.mark.parametrize("module_name", sorted(PAGES))
def test_the_api_reference_documents_every_public_name_of_the_module(module_name: str) -> None:
    documented = DIRECTIVE.findall(PAGES[module_name].read_text(encoding="utf-8"))

    expected = sorted(f"{module_name}.{name}" for name in _public_names(module_name))
    assert sorted(documented) == expected


def test_the_api_reference_names_objects_only_by_their_public_import_paths() -> None:
    # Implementation modules move (the service is becoming a package): the reference must not
    # depend on where a name is defined, only on where users import it from.
    public = {f"{module}.{name}" for module in PAGES for name in _public_names(module)}
    for page in sorted(REFERENCE.glob("*.md")):
        for identifier in DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            assert identifier in public, f"{page.name} documents {identifier}"


def test_the_site_configuration_lists_every_reference_page() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")

    for page in PAGES.values():
        assert f"reference/{page.name}" in config
