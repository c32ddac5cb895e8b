"""The docs say what the library does: their examples run, and their links lead somewhere."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import reseller_plans.domain

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
# The pure domain imports nothing outside the standard library and attrs, so every module of it
# can be imported here to run its docstring examples.
DOMAIN_MODULES = sorted(
    info.name
    for info in pkgutil.iter_modules(reseller_plans.domain.__path__, "reseller_plans.domain.")
)
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _blocks(page: Path, language: str) -> list[str]:
    return [code for lang, code in FENCE.findall(page.read_text()) if lang == language]


def _id(page: Path) -> str:
    return str(page.relative_to(DOCS))


def test_docs_have_pages() -> None:
    assert {_id(page) for page in PAGES} >= {"index.md", "concepts.md"}


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_interactive_examples_in_the_docs_print_what_the_page_says(page: Path) -> None:
    # The blocks of one page share a namespace, as they would in one interpreter session.
    text = "\n".join(_blocks(page, "pycon"))
    test = doctest.DocTestParser().get_doctest(text, {}, _id(page), str(page), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)

    runner.run(test)

    result = runner.summarize(verbose=False)
    assert result.failed == 0
    assert result.attempted > 0 or not text


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_python_examples_in_the_docs_run(page: Path) -> None:
    namespace: dict[str, object] = {}
    for code in _blocks(page, "python"):
        exec(compile(code, str(page), "exec"), namespace)  # noqa: S102 - our own docs


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_relative_links_in_the_docs_lead_to_existing_files(page: Path) -> None:
    for target in LINK.findall(page.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{_id(page)} links to missing {target}"


@pytest.mark.parametrize("module_name", DOMAIN_MODULES)
def test_examples_in_domain_docstrings_run(module_name: str) -> None:
    module = importlib.import_module(module_name)

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)

    assert result.failed == 0
