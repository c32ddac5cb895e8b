"""The docs say what the library does: their examples run, and their links lead somewhere.

Every Python block (```python) and interactive session (```pycon) of docs/ and the README is
found by pytest-examples and run here: the blocks of one page in order, sharing one namespace as
they would in one interpreter session. Blocks that are not Python name their language
(```shell, ```console, ```text, ```mermaid), so nothing that looks like code goes unchecked.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_examples import CodeExample, EvalExample, find_examples

import reseller_plans.domain

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = sorted(DOCS.rglob("*.md"))
EXAMPLES: dict[Path, list[CodeExample]] = {}
for _example in find_examples(DOCS, README):
    EXAMPLES.setdefault(_example.path, []).append(_example)
# The pure domain imports nothing outside the standard library and attrs, so every module of it
# can be imported here to run its docstring examples.
DOMAIN_MODULES = sorted(
    info.name
    for info in pkgutil.iter_modules(reseller_plans.domain.__path__, "reseller_plans.domain.")
)
FENCE = re.compile(r"^```(\S*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
NOT_PYTHON = {"shell", "console", "text", "mermaid"}
# docs/cli.md belongs to the command line's engineers, whose transcripts are plain blocks.


def _id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def _run_session(example: CodeExample, namespace: dict[str, Any]) -> None:
    test = doctest.DocTestParser().get_doctest(
        example.source, namespace, str(example), str(example.path), example.start_line
    )
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, clear_globs=False)
    namespace.update(test.globs)  # the test ran on a copy of the namespace
    result = runner.summarize(verbose=False)
    assert result.attempted > 0, f"{example}: a pycon block without a >>> line"
    assert result.failed == 0, f"{example}: the session printed something else (see above)"


def run_page(page: Path, eval_example: EvalExample) -> dict[str, Any]:
    """Run every example of ``page`` in order; returns the namespace they shared."""
    namespace: dict[str, Any] = {}
    for example in EXAMPLES[page]:
        if example.prefix == "pycon":
            _run_session(example, namespace)
        else:
            assert example.prefix == "python", f"{example}: unknown block language"
            namespace.update(eval_example.run(example, module_globals=namespace))
    return namespace


def test_docs_have_pages() -> None:
    assert {page.name for page in PAGES} >= {"index.md", "concepts.md"}


def test_the_examples_are_found_in_the_docs_and_the_readme() -> None:
    assert README in EXAMPLES
    assert {DOCS / "concepts.md", DOCS / "service.md", DOCS / "testing.md"} <= set(EXAMPLES)


@pytest.mark.parametrize("page", sorted(EXAMPLES), ids=_id)
def test_every_example_of_the_page_runs(page: Path, eval_example: EvalExample) -> None:
    run_page(page, eval_example)


@pytest.mark.parametrize("page", [*PAGES, README], ids=_id)
def test_every_code_block_names_its_language(page: Path) -> None:
    for language, _code in FENCE.findall(page.read_text(encoding="utf-8")):
        assert language in NOT_PYTHON | {"python", "pycon"}, f"{_id(page)}: ```{language}"


def test_the_host_applications_tests_in_the_testing_guide_pass(
    eval_example: EvalExample, request: pytest.FixtureRequest
) -> None:
    # docs/testing.md shows a host application's test module: run its tests, with the fixtures
    # of our pytest plugin, as the host's pytest would.
    namespace = run_page(DOCS / "testing.md", eval_example)
    tests: dict[str, Callable[..., None]] = {
        name: value
        for name, value in namespace.items()
        if name.startswith("test_") and callable(value)
    }
    assert tests
    for test in tests.values():
        fixtures = {
            name: request.getfixturevalue(name) for name in inspect.signature(test).parameters
        }
        test(**fixtures)


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


CITED_FILE = re.compile(r"\b(DESIGN|DOMAIN|STYLE|PLATFORM-API)(?:\.md)?\b")


@pytest.mark.parametrize(
    "path",
    [*PAGES, README, *sorted((ROOT / "src").rglob("*.py"))],
    ids=_id,
)
def test_the_docs_and_docstrings_cite_only_files_a_reader_has(path: Path) -> None:
    # The project's design notes are not shipped: what a user needs is written in docs/.
    for match in CITED_FILE.finditer(path.read_text(encoding="utf-8")):
        assert (ROOT / f"{match.group(1)}.md").exists(), f"{_id(path)} cites {match.group(0)}"
