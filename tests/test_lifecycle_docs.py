"""``docs/lifecycle.md`` is generated: the committed page must be what the script renders now."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from reseller_plans.domain import lifecycle, saga
from reseller_plans.domain.subscription import OperationKind

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "render_lifecycle_docs.py"
PAGE = ROOT / "docs" / "lifecycle.md"


@pytest.fixture(scope="module")
def renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_lifecycle_docs", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_lifecycle_page_is_what_the_script_renders_now(
    renderer: ModuleType,
) -> None:
    assert PAGE.read_text(encoding="utf-8") == renderer.render(), (
        "docs/lifecycle.md is stale: run python scripts/render_lifecycle_docs.py and commit it"
    )


def test_the_page_carries_the_generated_mermaid_diagram(renderer: ModuleType) -> None:
    assert f"```mermaid\n{lifecycle.mermaid_diagram()}```\n" in renderer.render()


def test_the_page_lists_every_step_of_every_operation(renderer: ModuleType) -> None:
    page = renderer.render()
    for kind, steps in saga.OPERATION_STEPS.items():
        heading = f"### {kind.value.replace('_', ' ').capitalize()}\n"
        section = page.split(heading, 1)[1].split("\n### ", 1)[0]
        for number, step in enumerate(steps, 1):
            assert f"| {number} | `{step.value}` |" in section, (kind, step)


def _section(page: str, title: str) -> str:
    return page.split(f"### {title}\n", 1)[1].split("\n### ", 1)[0]


def test_the_page_names_the_undo_of_each_activation_step(renderer: ModuleType) -> None:
    table = [line for line in _section(renderer.render(), "Activation").splitlines() if line]
    table = table[table.index("| # | step | undone by |") :]
    assert table == [
        "| # | step | undone by |",
        "| --- | --- | --- |",
        "| 1 | `place_order` | `cancel_on_platform`, then `release_alias` |",
        "| 2 | `provision_license` | `revoke_license` |",
        "| 3 | `hold_alias` | `release_alias` |",
        "| 4 | `activate_storefront` | `deactivate_storefront` |",
        "| 5 | `queue_email` | — |",
    ]


def test_the_page_names_the_undo_of_each_plan_change_step(renderer: ModuleType) -> None:
    section = _section(renderer.render(), "Plan change")
    assert "| 1 | `provision_license` | `provision_license` (of the previous plan) |" in section
    assert "| 2 | `hold_alias` | — |" in section  # the alias it keeps: nothing to give back
    assert "| 3 | `activate_storefront` | `activate_storefront` (of the previous plan) |" in section
    assert "| 4 | `queue_email` | — |" in section
    assert "release_alias" not in section


def test_the_page_says_an_activation_holds_the_alias_and_undoing_gives_it_back(
    renderer: ModuleType,
) -> None:
    section = _section(renderer.render(), "Activation")
    assert (
        "An activation holds the reseller's Storefront Alias (`hold_alias`) just before "
        "`activate_storefront`."
    ) in section
    assert (
        "Undoing the activation gives the alias back (`release_alias`) twice over: once for "
        "the hold, and once more after its platform order is cancelled, since the order line "
        "carried the alias too."
    ) in section


def test_the_page_reads_every_undo_step_off_the_saga(renderer: ModuleType) -> None:
    # Undoing the activation after its storefront is live runs these steps, in this order: the
    # table's rows, read bottom-up, must list exactly them.
    undo = renderer._undo_of_each_step(OperationKind.ACTIVATION)
    assert [a.value for undos in reversed(undo) for a in undos] == [
        "deactivate_storefront",
        "release_alias",
        "revoke_license",
        "cancel_on_platform",
        "release_alias",
    ]


def test_the_check_mode_passes_on_the_committed_page(renderer: ModuleType) -> None:
    assert renderer.main(["--check"]) == 0


def test_the_check_mode_fails_on_a_stale_page(
    renderer: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stale = tmp_path / "lifecycle.md"
    stale.write_text("# old\n", encoding="utf-8")
    monkeypatch.setattr(renderer, "DOCS_PAGE", stale)
    assert renderer.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert renderer.main([]) == 0
    assert stale.read_text(encoding="utf-8") == renderer.render()
