"""The examples of docs/adapters.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "adapters.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text("utf-8"), flags=re.DOTALL)


def test_the_adapters_doc_has_an_example() -> None:
    assert _python_blocks()


@pytest.mark.parametrize("block", _python_blocks())
def test_adapters_doc_example_runs(block: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(block, str(DOC), "exec"), {"__name__": "docs_example"})  # noqa: S102
    printed = capsys.readouterr().out
    assert "https://cloud.disti.example/techsolutions" in printed
    assert "Edition.DIAMOND_WITH_DISTRIBUTION_RIGHTS" in printed
