"""The whole story, on this machine: ``make demo``.

An emulator of the distributor's BSS and Storefront and an SMTP sink run on loopback; state is
kept in SQLite in a temporary folder; everything goes through the real HTTP adapters, the SMTP
mailer and the ``reseller-plans`` command line. The distributor checks a mixed population of
resellers, upgrades some in the BSS while a reseller buys its own plan in the Storefront, meets
an alias collision, has a failure rolled back and another one retried, moves a reseller from Free
to Standard, schedules a downgrade that time then applies, and cancels a reseller back to Basic.

Needs the ``server`` and ``cli`` extras and ``aiosmtpd`` (all installed by ``make demo``).
"""

from __future__ import annotations

import datetime as dt
import email
import os
import socket
import tempfile
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from rich.console import Console
from rich.table import Table

from reseller_plans import Actor, Plan, ResellerPlans, Subscription
from reseller_plans.cli import main as cli
from reseller_plans.config import build_plans, load_settings
from reseller_plans.testing.emulator import EmulatorServer, EmulatorState, serve_emulator
from reseller_plans.testing.fakes import FakeClock

console = Console(width=100)


class SMTPSink:
    """Keeps every message the SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"


def step(title: str) -> None:
    console.rule(f"[bold]{title}")


def run(*args: str) -> int:
    console.print(f"[dim]$ reseller-plans {' '.join(args)}[/]")
    return cli(list(args))


def story(server: EmulatorServer, sink: SMTPSink, folder: Path) -> None:
    settings = load_settings()
    clock = FakeClock(dt.datetime.now(dt.UTC))  # real time now, moved by hand later
    plans = build_plans(settings, clock=clock)
    distributor = Actor.distributor(settings.distributor or "")

    step("1. Who may be upgraded? Every failing criterion, with its fix")
    run("check", "3542", "3545", "3546", "3544", "4100", "--plan", "standard")

    step("2. The distributor upgrades resellers in the BSS, from a CSV (one alias collides)")
    rows = folder / "upgrades.csv"
    rows.write_text(
        "account,plan,alias\n"
        "3542,standard,techsolutions\n"
        "10001,free,brightstack\n"
        "10002,free,techsolutions\n"
        "10003,standard,nimbus-partners\n"
    )
    run("upgrade", "--from-csv", str(rows), "--concurrency", "1")

    step("3. A reseller buys its own plan in the Storefront")
    sub = plans.upgrade("10004", Plan.FREE, alias="cloudhaven", actor=Actor.reseller("10004"))
    console.print(f"10004 bought the Free plan in the Storefront: {standing(sub)} ({sub.id})")

    step("4. The Storefront refuses an activation for good: the upgrade is rolled back")
    route = "POST /api/storefront/resellers/{account_id}/storefront/activate"
    server.emulator.fail_next(422, route=route, body={"message": "storefront quota reached"})
    failed = plans.upgrade("10005", Plan.STANDARD, alias="quickserve", actor=distributor)
    console.print(
        f"10005: {standing(failed)}, back on {plans.plan_of('10005').title}: "
        f"{failed.failure_reason}"
    )
    console.print(f"license on the platform: {server.state.account('10005').get('resellerPlan')}")

    step("5. The BSS is unavailable for a while: the upgrade waits, then is retried")
    # (Retry-After: 0 keeps the demo quick; the client would otherwise back off for seconds)
    server.emulator.fail_next(
        503, route="PATCH /api/accounts/{account_id}", count=50, retry_after="0"
    )
    waiting = plans.upgrade("10006", Plan.FREE, alias="orbitworks", actor=distributor)
    console.print(f"10006: {standing(waiting)}")
    server.emulator.clear_scripted_faults()
    run("retry", waiting.id)

    step("6. Free → Standard takes effect at once, with the new storefront URL by email")
    run("upgrade", "10001", "--plan", "standard")

    step("7. Standard → Free waits for the end of the term ...")
    standard = live_subscription(plans, "10003")
    run("change-plan", standard.id, "--plan", "free")
    clock.set(standard.term.end + dt.timedelta(minutes=1))
    console.print(f"... a month later ({clock.now():%Y-%m-%d}), the scheduler runs:")
    report = plans.run_due()
    console.print(
        f"it applied what was due for {report.subscriptions} subscription(s), renewed "
        f"{report.renewals}, sent {report.emails_sent} email(s) ({report.emails_failed} failed)"
    )
    console.print(f"10003 is now on {plans.plan_of('10003').title}")

    step("8. A cancellation takes the reseller back to Basic")
    techsolutions = live_subscription(plans, "3542")
    run("cancel", techsolutions.id)

    summary(server, sink, plans)


def standing(sub: Subscription) -> str:
    """Where a subscription stands, as a person says it."""
    if sub.status.value == "pending" and sub.sync_status.value != "synchronized":
        return "waiting: provisioning did not complete and will be retried"
    return {"active": "active", "failed": "failed and rolled back"}.get(
        sub.status.value, sub.status.value.replace("_", " ")
    )


def live_subscription(plans: ResellerPlans, account_id: str) -> Subscription:
    sub = plans.subscription_of(account_id)
    if sub is None:
        raise SystemExit(f"the demo expected account {account_id} to have a subscription")
    return sub


def summary(server: EmulatorServer, sink: SMTPSink, plans: ResellerPlans) -> None:
    step("Where everyone stands")
    table = Table("account", "name", "plan", "alias", "license on the platform")
    for account_id in ("3542", "10001", "10002", "10003", "10004", "10005", "10006"):
        account = server.state.account(account_id)
        live = plans.subscription_of(account_id)
        table.add_row(
            account_id,
            str(account.get("name")),
            plans.plan_of(account_id).title,
            "" if live is None or live.alias is None else live.alias.value,
            str(account.get("resellerPlan") or "Basic"),
        )
    console.print(table)

    step(f"The {len(sink.messages)} emails the SMTP server received")
    mails = Table("to", "subject")
    for message in sink.messages:
        mails.add_row(str(message["To"]), str(message["Subject"]))
    console.print(mails)
    plans.store.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    sink = SMTPSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port(), server_hostname="smtp.demo")
    smtp.start()
    try:
        with (
            serve_emulator(EmulatorState.demo(extra_resellers=10)) as server,
            tempfile.TemporaryDirectory() as folder,
        ):
            os.environ.update(
                RESELLER_PLANS_BSS_URL=server.url,
                RESELLER_PLANS_CLIENT_ID="demo-client-key",
                RESELLER_PLANS_CLIENT_SECRET="demo-client-secret",  # noqa: S106 - the emulator's
                RESELLER_PLANS_USERNAME="api-user@disti.example",
                RESELLER_PLANS_PASSWORD="demo-password",  # noqa: S106
                RESELLER_PLANS_STOREFRONT_API_KEY="demo-storefront-api-key",
                RESELLER_PLANS_DISTRIBUTOR="100",
                RESELLER_PLANS_STORE=str(Path(folder) / "reseller-plans.sqlite3"),
                RESELLER_PLANS_STAFF_EMAIL="ops@disti.example",
                RESELLER_PLANS_SMTP_HOST="127.0.0.1",
                RESELLER_PLANS_SMTP_PORT=str(smtp.port),
                RESELLER_PLANS_SMTP_SECURITY="none",
                RESELLER_PLANS_SMTP_SENDER="Disti Cloud <noreply@disti.example>",
            )
            story(server, sink, Path(folder))
    finally:
        smtp.stop()


if __name__ == "__main__":
    main()
