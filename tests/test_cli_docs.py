"""``docs/cli.md`` says what the command line does: its generated bulk-run transcript is fresh,
its emulator banner is the one printed, and the sample settings file works."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from cli_world import environment, invoker
from reseller_plans.testing.emulator import EmulatorServer, EmulatorState, serve_emulator
from reseller_plans.testing.emulator.__main__ import banner

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "cli.md"


@pytest.fixture(scope="module")
def transcript() -> ModuleType:
    path = ROOT / "scripts" / "render_cli_transcript.py"
    spec = importlib.util.spec_from_file_location("render_cli_transcript", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve_emulator(EmulatorState.demo(extra_resellers=2)) as running:
        yield running


def test_the_committed_bulk_transcript_is_what_the_script_renders_now(
    transcript: ModuleType,
) -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert page == transcript.render(page), (
        "the transcript in docs/cli.md is stale: run python scripts/render_cli_transcript.py"
    )


def test_the_transcripts_csv_has_300_rows_a_bom_crlf_and_the_awkward_rows(
    transcript: ModuleType,
) -> None:
    data: bytes = transcript.upgrades_csv()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").split("\r\n")[1:-1]
    assert len(lines) == 300
    aliases = [line.split(",")[2] for line in lines]
    assert len(aliases) - len(set(aliases)) == 1  # one duplicated alias
    assert "3545,standard,northwind" in lines  # ineligible
    assert any(",gold," in line for line in lines)  # malformed


def test_the_docs_show_the_banner_the_emulator_prints() -> None:
    printed = banner(EmulatorState.demo(), "http://127.0.0.1:8080")
    assert printed.rstrip("\n") in PAGE.read_text(encoding="utf-8")


def test_the_sample_settings_file_works_against_the_emulator(
    server: EmulatorServer, tmp_path: Path
) -> None:
    env = dict.fromkeys(environment(server, tmp_path / "s.db"), "")  # nothing from the environment
    run = invoker(env, tmp_path)
    config = str(ROOT / "examples" / "reseller-plans.toml")
    code, out, err = run("--config", config, "--bss-url", server.url, "check", "3542")
    assert code == 0, err
    assert "3542" in out


def test_tables_fit_100_columns_without_cutting_an_id(
    server: EmulatorServer, tmp_path: Path
) -> None:
    run = invoker(environment(server, tmp_path / "s.db"), tmp_path)
    code, out, _ = run("upgrade", "10001", "--plan", "free", "--alias", "a-rather-long-alias-here")
    assert code == 0
    (sub,) = [word for word in out.split() if word.startswith("sub_")]
    assert len(sub) == 36  # the whole id, on one line
    for command in (("status", sub), ("history", sub), ("check", "3542", "3545", "4100")):
        _, shown, _ = run(*command)
        assert max(map(len, shown.splitlines())) <= 100, command
    assert max(map(len, out.splitlines())) <= 100
