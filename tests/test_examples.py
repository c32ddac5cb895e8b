"""The examples run as they are shipped, and print what their readers are told to expect."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def quickstart_output() -> list[str]:
    # The example's path is fixed by this repository, and the interpreter is the one running us.
    completed = subprocess.run(  # noqa: S603
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    return [line.rstrip() for line in completed.stdout.splitlines()]


def _block_after(lines: list[str], heading_part: str) -> list[str]:
    """The lines of the report under the request line containing ``heading_part``."""
    start = next(i for i, line in enumerate(lines) if heading_part in line)
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        block.append(line.strip())
    return block


def test_quickstart_shows_the_eligible_reseller_and_its_storefront_url(
    quickstart_output: list[str],
) -> None:
    assert _block_after(quickstart_output, "TechSolutions Ltd (3542)") == [
        "account 3542: eligible for the Standard plan",
        "the reseller's Storefront will be https://cloud.disti.example/techsolutions",
    ]


@pytest.mark.parametrize(
    ("request_line", "codes"),
    [
        ("Cloudy Bits (3543)", ["RESELLING_DISABLED"]),
        (
            "Sample Distribution (D-100, Diamond) asks for Northwind IT",
            ["NOT_DISTRIBUTORS_ACCOUNT"],
        ),
        ("Acme Hosting (3544): Standard → Standard", ["ILLEGAL_MOVE"]),
        ("Bright Shop (3545)", ["INVALID_ALIAS"]),
        ("Budget Distribution (D-200, Professional)", ["EDITION_NOT_ELIGIBLE", "ADDON_INACTIVE"]),
    ],
)
def test_quickstart_shows_each_ineligible_reseller_with_every_reason_and_its_fix(
    quickstart_output: list[str], request_line: str, codes: list[str]
) -> None:
    block = _block_after(quickstart_output, request_line)

    assert block[0].endswith("not eligible for the Free plan") or block[0].endswith(
        "not eligible for the Standard plan"
    )
    assert [line.split(":")[0].removeprefix("- ") for line in block[1:]] == codes
    assert all("(fix: " in line for line in block[1:])


def test_quickstart_prints_the_whole_plan_move_table(quickstart_output: list[str]) -> None:
    start = quickstart_output.index("Moves between plans")
    table = [line.split() for line in quickstart_output[start + 2 :]]

    assert table[0] == ["from", "to", "legal", "timing", "how"]
    assert len(table) == 1 + 9
    assert table[1][:4] == ["Basic", "Basic", "no", "-"]
    assert ["Standard", "Free", "yes", "end_of_term"] in [row[:4] for row in table]
    assert sum(row[2] == "yes" for row in table[1:]) == 6


def test_the_demo_tells_the_whole_story() -> None:
    # `make demo`: emulator and SMTP sink on loopback, the real adapters and the command line.
    completed = subprocess.run(  # noqa: S603
        [sys.executable, str(EXAMPLES / "demo.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    for expected in (
        "RESELLING_DISABLED",  # eligibility with reasons
        "ALIAS_TAKEN",  # the alias collision
        "10005: failed and rolled back, back on Basic",  # a failure rolled back
        "10006: waiting: provisioning did not complete",  # a backend unavailable for a while
        "status                 active",  # the retried upgrade
        "10003 is now on Free",  # the scheduled downgrade, applied by time
        "Your Standard reseller plan has ended",  # the cancellation's email
        "You are on the Standard plan: your Storefront is live",  # Free -> Standard
    ):
        assert expected in out, expected
    assert "DueReport(" not in out  # no Python reprs, only sentences and tables
    assert max(map(len, out.splitlines())) <= 100
