"""The examples run as they are shipped, and print what their readers are told to expect."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reseller_plans.testing.emulator.state import demo_fixture

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


ROOT = EXAMPLES.parent
FENCE = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _run(script: str) -> list[str]:
    # The example's path is fixed by this repository, and the interpreter is the one running us.
    completed = subprocess.run(  # noqa: S603
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    return [line.rstrip() for line in completed.stdout.splitlines()]


@pytest.fixture(scope="module")
def quickstart_output() -> list[str]:
    return _run("quickstart.py")


@pytest.fixture(scope="module")
def eligibility_output() -> list[str]:
    return _run("eligibility.py")


def _readme_quickstart() -> str:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Quickstart", 1)[1]
    return FENCE.findall(section.split("\n## ", 1)[0])[0]


def test_the_quickstart_example_is_the_readmes_quickstart() -> None:
    script = (EXAMPLES / "quickstart.py").read_text(encoding="utf-8")

    # The script is its docstring, then the README's code exactly.
    assert script.endswith('"""\n\n' + _readme_quickstart())


def test_quickstart_checks_upgrades_and_welcomes_the_reseller(
    quickstart_output: list[str],
) -> None:
    out = quickstart_output
    assert out[0] == "account 3542: eligible for the Standard plan"
    assert "To: admin@techsolutions.example" in out
    assert "your own Storefront is live at https://cloud.disti.example/techsolutions." in out
    assert any(re.fullmatch(r"sub_\w+: active on Standard", line) for line in out)


def test_quickstart_schedules_free_for_the_end_of_the_term_and_run_due_waits_for_it(
    quickstart_output: list[str],
) -> None:
    out = quickstart_output
    assert any(
        re.fullmatch(r"Free from \d{4}-\d\d-\d\d, the end of the term", line) for line in out
    )
    assert any(line.startswith("Subject: Your reseller plan changes to Free on") for line in out)
    assert out[-1] == "due now: 0; plan now: Standard"


def _block_after(lines: list[str], heading_part: str) -> list[str]:
    """The lines of the report under the request line containing ``heading_part``."""
    start = next(i for i, line in enumerate(lines) if heading_part in line)
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        block.append(line.strip())
    return block


def test_eligibility_shows_the_eligible_reseller_and_its_storefront_url(
    eligibility_output: list[str],
) -> None:
    assert _block_after(eligibility_output, "TechSolutions Ltd (3542)") == [
        "account 3542: eligible for the Standard plan",
        "the reseller's Storefront will be https://cloud.disti.example/techsolutions",
    ]


@pytest.mark.parametrize(
    ("request_line", "codes"),
    [
        ("Northwind Traders (3545)", ["RESELLING_DISABLED"]),
        (
            "Disti Cloud Ltd (100, Diamond with Distribution Rights) asks for Other Disti",
            ["NOT_DISTRIBUTORS_ACCOUNT"],
        ),
        ("Apex Partners (3544): Standard → Standard", ["ILLEGAL_MOVE"]),
        ("Contoso Retail (3546)", ["INVALID_ALIAS"]),
        ("Budget Distribution (4000, Professional)", ["EDITION_NOT_ELIGIBLE", "ADDON_INACTIVE"]),
    ],
)
def test_eligibility_shows_each_ineligible_reseller_with_every_reason_and_its_fix(
    eligibility_output: list[str], request_line: str, codes: list[str]
) -> None:
    block = _block_after(eligibility_output, request_line)

    assert block[0].endswith("not eligible for the Free plan") or block[0].endswith(
        "not eligible for the Standard plan"
    )
    assert [line.split(":")[0].removeprefix("- ") for line in block[1:]] == codes
    assert all("(fix: " in line for line in block[1:])


def test_eligibility_prints_the_whole_plan_move_table(eligibility_output: list[str]) -> None:
    start = eligibility_output.index("Moves between plans")
    table = [line.split() for line in eligibility_output[start + 2 :]]

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


def test_eligibility_names_the_accounts_of_the_emulators_demo_world() -> None:
    # The example's resellers are the emulator's (and so the README's and the CLI guide's), with
    # the same ids, names, emails, reselling flags, distributors and plans.
    spec = importlib.util.spec_from_file_location("eligibility", EXAMPLES / "eligibility.py")
    assert spec is not None
    assert spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    fixture = demo_fixture()
    accounts = {str(account["id"]): account for account in fixture["accounts"]}
    organization = fixture["organization"]

    assert example.DISTI_CLOUD.id == str(organization["id"])
    assert example.DISTI_CLOUD.name == organization["name"]
    assert example.DISTI_CLOUD.storefront_host == organization["storefrontHost"]
    for _distributor, account, _plan, _alias in example.REQUESTS:
        seeded = accounts[account.id]
        reselling = seeded.get("resellingEnabled", seeded.get("enableReselling"))
        assert (account.name, account.email) == (seeded["name"], seeded["email"])
        assert account.reselling_enabled is reselling
        assert account.distributor_id == str(seeded["billToAccountId"])
        assert account.plan.title == seeded.get("resellerPlan", "Basic")
