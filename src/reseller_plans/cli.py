"""The ``reseller-plans`` command line: operators' scripts automating upgrades.

Needs the ``cli`` extra (click and rich). Exit status: 0 when everything asked for was done,
1 when some of it failed (a row, an ineligible account, a refused command, an unreachable
backend), 2 for a usage or configuration error. See ``docs/cli.md``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import attrs
import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reseller_plans.bulk import BulkReport, BulkUpgrade, RowResult, UpgradeRow, read_upgrade_rows
from reseller_plans.config import ConfigError, Settings, build_plans, load_settings
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.eligibility import EligibilityReport
from reseller_plans.domain.errors import (
    InvalidInput,
    NotEligible,
    NotFound,
    ResellerPlansError,
    TransientBackendError,
)
from reseller_plans.domain.events import event_to_dict
from reseller_plans.domain.plans import Plan, Timing
from reseller_plans.domain.subscription import Subscription
from reseller_plans.service import ResellerPlans

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

PLAN_CHOICE = click.Choice(["free", "standard"], case_sensitive=False)


@attrs.define
class Session:
    """What the commands share: the settings, and the service once something needs it."""

    config_file: str | None
    overrides: dict[str, Any]
    json_output: bool
    out: Console
    err: Console
    _plans: ResellerPlans | None = None
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_file, overrides=self.overrides)
        return self._settings

    @property
    def actor(self) -> Actor:
        self.settings.require("distributor")
        return Actor.distributor(self.settings.distributor or "")

    @property
    def plans(self) -> ResellerPlans:
        if self._plans is None:
            # emails printed by the console mailer go with the progress, not the report
            self._plans = build_plans(self.settings, console=sys.stderr)
        return self._plans

    def close(self) -> None:
        if self._plans is not None:
            for adapter in (self._plans.bss, self._plans.storefront, self._plans.store):
                close = getattr(adapter, "close", None)
                if close is not None:
                    close()


def _fail(session: Session, message: str, status: int) -> NoReturn:
    session.err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    sys.exit(status)


@contextmanager
def _errors(session: Session) -> Iterator[None]:
    """Turn the library's errors into a clear message and the documented exit status."""
    try:
        yield
    except ConfigError as exc:
        _fail(session, f"configuration: {exc}", EXIT_USAGE)
    except NotEligible as exc:
        _fail(session, str(exc.report), EXIT_FAILED)
    except TransientBackendError as exc:
        where = session.settings.bss_url if session._settings else "the backend"
        _fail(session, f"cannot reach {where} now ({exc}); nothing was changed that is not "
                       "recorded: run the command again later", EXIT_FAILED)  # fmt: skip
    except InvalidInput as exc:
        _fail(session, str(exc), EXIT_USAGE)
    except ResellerPlansError as exc:
        _fail(session, str(exc), EXIT_FAILED)


def _subscription_dict(sub: Subscription) -> dict[str, Any]:
    change = sub.pending_change
    return {
        "id": sub.id,
        "account": sub.account_id,
        "distributor": sub.distributor_id,
        "plan": sub.plan.value,
        "effective_plan": sub.effective_plan.value,
        "alias": None if sub.alias is None else sub.alias.value,
        "status": sub.status.value,
        "sync": sub.sync_status.value,
        "term_end": sub.term.end.isoformat(),
        "auto_renew": sub.term.auto_renew,
        "pending_change": None
        if change is None
        else {
            "kind": change.kind.value,
            "plan": change.plan.value,
            "at": change.effective_at.isoformat(),
        },
        "platform_subscription": sub.platform_subscription_id,
        "failure_reason": sub.failure_reason,
    }


def _act(session: Session, command: Callable[[ResellerPlans, Actor], Subscription]) -> Subscription:
    """Run a command on one subscription as the session's actor, then show what it left."""
    with _errors(session):
        sub = command(session.plans, session.actor)
    _show_subscription(session, sub)
    return sub


def _show_subscription(session: Session, sub: Subscription) -> None:
    data = _subscription_dict(sub)
    if session.json_output:
        click.echo(json.dumps(data, indent=2))
        return
    table = Table(show_header=False, box=None)
    for key, value in data.items():
        table.add_row(key, "" if value is None else str(value))
    session.out.print(table)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), help="A TOML settings file."
)
@click.option("--bss-url", help="The BSS base URL (or RESELLER_PLANS_BSS_URL).")
@click.option("--storefront-url", help="The Storefront API base URL (default: the BSS URL).")
@click.option("--distributor", help="The distributor you act as (or RESELLER_PLANS_DISTRIBUTOR).")
@click.option("--store", help="The SQLite file that keeps state (or RESELLER_PLANS_STORE).")
@click.option("--client-id", help="The BSS API client key (or RESELLER_PLANS_CLIENT_ID).")
@click.option("--username", help="The BSS application user (or RESELLER_PLANS_USERNAME).")
@click.option("--json", "json_output", is_flag=True, help="Print JSON instead of tables.")
@click.version_option(package_name="reseller-plans")
@click.pass_context
def cli(ctx: click.Context, /, config_file: str | None, json_output: bool, **flags: Any) -> None:
    """Upgrade resellers to the Free or Standard plan, and manage their subscriptions.

    Secrets (client secret, password, Storefront API key, SMTP password) are read only from
    the environment or the --config file.
    """
    overrides = {name.replace("-", "_"): value for name, value in flags.items()}
    # Not a terminal (a pipe, a file, a test): wide enough that tables do not truncate ids.
    width = None if sys.stdout.isatty() else max(_columns(), 160)
    session = Session(
        config_file, overrides, json_output, Console(width=width), Console(stderr=True)
    )
    ctx.obj = session
    ctx.call_on_close(session.close)


pass_session = click.pass_obj


def _columns() -> int:
    try:
        return int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        return 0


def _json_here(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_object(Session).json_output = True  # type: ignore[union-attr]


json_option = click.option(
    "--json", is_flag=True, expose_value=False, callback=_json_here,
    help="Print JSON instead of tables.",
)  # fmt: skip
"""``--json`` after the command too (``reseller-plans status 3542 --json``)."""


@cli.command()
@click.argument("accounts", nargs=-1, required=True)
@click.option("--plan", type=PLAN_CHOICE, default="standard", show_default=True)
@click.option("--alias", help="Also check this Storefront Alias (one account only).")
@json_option
@pass_session
def check(session: Session, accounts: Sequence[str], plan: str, alias: str | None) -> None:
    """Check whether ACCOUNTS may be upgraded; exit 1 if any may not."""
    if alias is not None and len(accounts) > 1:
        raise click.UsageError("--alias goes with one account")
    with _errors(session):
        reports = [
            session.plans.check(a, Plan.parse(plan), actor=session.actor, alias=alias)
            for a in accounts
        ]
    _print_reports(session, reports)
    sys.exit(EXIT_OK if all(r.eligible for r in reports) else EXIT_FAILED)


def _print_reports(session: Session, reports: Sequence[EligibilityReport]) -> None:
    if session.json_output:
        data = [
            {
                "account": r.account_id,
                "plan": r.plan.value,
                "eligible": r.eligible,
                "failures": [
                    {"code": f.code.value, "message": f.message, "remedy": f.remedy}
                    for f in r.failures
                ],
            }
            for r in reports
        ]
        click.echo(json.dumps(data, indent=2))
        return
    table = Table("account", "plan", "eligible", "why not, and the fix")
    for r in reports:
        why = "\n".join(f"{f.code.value}: {f.message} → {f.remedy}" for f in r.failures)
        table.add_row(r.account_id, r.plan.title, "yes" if r.eligible else "[red]no[/]", why)
    session.out.print(table)


@cli.command()
@click.argument("account", required=False)
@click.option("--plan", type=PLAN_CHOICE, help="The plan to upgrade ACCOUNT to.")
@click.option("--alias", help="The Storefront Alias (required from Basic).")
@click.option("--key", "idempotency_key", help="Idempotency key (default: derived from the row).")
@click.option(
    "--from-csv", "csv_file", type=click.Path(exists=True, dir_okay=False),
    help="Upgrade every row of a CSV with the columns account, plan, alias (and key).",
)  # fmt: skip
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--dry-run", is_flag=True, help="Check eligibility and aliases only; write nothing.")
@click.option("--csv", "csv_output", is_flag=True, help="Print the report as CSV.")
@json_option
@pass_session
def upgrade(
    session: Session,
    account: str | None,
    plan: str | None,
    alias: str | None,
    idempotency_key: str | None,
    csv_file: str | None,
    concurrency: int,
    dry_run: bool,
    csv_output: bool,
) -> None:
    """Upgrade ACCOUNT (or every row of --from-csv); resumable: run it again to finish."""
    if (account is None) == (csv_file is None):
        raise click.UsageError("give either ACCOUNT with --plan, or --from-csv FILE")
    with _errors(session):
        if csv_file is not None:
            rows = read_upgrade_rows(csv_file)
        else:
            if plan is None:
                raise click.UsageError("--plan is required with ACCOUNT")
            row = UpgradeRow.of(account or "", plan, alias)
            rows = [attrs.evolve(row, key=idempotency_key) if idempotency_key else row]
        report = _run_bulk(session, rows, concurrency=concurrency, dry_run=dry_run)
    _print_bulk(session, report, csv_output=csv_output)
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


def _run_bulk(
    session: Session, rows: Sequence[UpgradeRow], *, concurrency: int, dry_run: bool
) -> BulkReport:
    counts = {"done": 0, "failed": 0, "skipped": 0}
    progress = Progress(
        TextColumn("[bold]upgrading" if not dry_run else "[bold]checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[summary]}"),
        TimeElapsedColumn(),
        console=session.err,
        transient=False,
        disable=len(rows) < 2,
    )

    def summary() -> str:
        return f"done {counts['done']}  failed {counts['failed']}  skipped {counts['skipped']}"

    with progress:
        task = progress.add_task("rows", total=len(rows), summary=summary())

        def advance(result: RowResult) -> None:
            outcome = result.outcome.value
            key = "done" if outcome in ("done", "checked") else outcome
            counts["failed" if key == "ineligible" else key] += 1
            progress.update(task, advance=1, summary=summary())

        bulk = BulkUpgrade(
            session.plans, session.actor, concurrency=concurrency, dry_run=dry_run,
            on_result=advance,
        )  # fmt: skip
        try:
            return bulk.run(rows)
        except KeyboardInterrupt:
            session.err.print(
                "interrupted: what was done is recorded; run the same command again to finish"
            )
            sys.exit(130)


def _print_bulk(session: Session, report: BulkReport, *, csv_output: bool) -> None:
    records: list[dict[str, str]] = [
        {
            "line": str(r.row.line or ""),
            "account": r.row.account_id,
            "plan": r.row.plan.value,
            "alias": r.row.alias or "",
            "outcome": r.outcome.value,
            "subscription": r.subscription_id or "",
            "codes": " ".join(r.codes),
            "error": r.error if not r.codes or r.outcome.value == "failed" else "",
        }
        for r in report.results
    ]
    if session.json_output:
        click.echo(json.dumps({"counts": dict(report.counts), "rows": records}, indent=2))
        return
    if csv_output:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]) if records else ["line"])
        writer.writeheader()
        writer.writerows(records)
        click.echo(buffer.getvalue(), nl=False)
        return
    table = Table("line", "account", "plan", "alias", "outcome", "subscription", "why")
    style = {"done": "green", "checked": "green", "skipped": "cyan"}
    for rec in records:
        color = style.get(rec["outcome"], "red")
        why = rec["codes"] or rec["error"]
        table.add_row(
            rec["line"], rec["account"], rec["plan"], rec["alias"],
            f"[{color}]{rec['outcome']}[/]", rec["subscription"], why,
        )  # fmt: skip
    session.out.print(table)
    counts = ", ".join(f"{n} {k}" for k, n in sorted(report.counts.items()))
    rows = len(report.results)
    session.out.print(f"{rows} {'row' if rows == 1 else 'rows'}: {counts}")


@cli.command("change-plan")
@click.argument("subscription")
@click.option("--plan", type=PLAN_CHOICE, required=True)
@click.option("--now", "timing", flag_value="immediate", help="Take effect now.")
@click.option("--at-term-end", "timing", flag_value="end_of_term", help="At the end of the term.")
@json_option
@pass_session
def change_plan(session: Session, subscription: str, plan: str, timing: str | None) -> None:
    """Move SUBSCRIPTION between Free and Standard (Standard → Free waits for the term end)."""
    _act(session, lambda plans, actor: plans.change_plan(
        subscription, Plan.parse(plan), actor=actor,
        timing=None if timing is None else Timing(timing),
    ))  # fmt: skip


@cli.command()
@click.argument("subscription")
@click.option("--at-term-end", is_flag=True, help="Cancel at the end of the term instead of now.")
@json_option
@pass_session
def cancel(session: Session, subscription: str, at_term_end: bool) -> None:
    """Cancel SUBSCRIPTION: the reseller goes back to Basic."""
    timing = Timing.END_OF_TERM if at_term_end else Timing.IMMEDIATE
    _act(session, lambda plans, actor: plans.cancel(subscription, actor=actor, timing=timing))


@cli.command()
@click.argument("subscription")
@json_option
@pass_session
def withdraw(session: Session, subscription: str) -> None:
    """Withdraw the scheduled plan change or cancellation of SUBSCRIPTION."""
    _act(session, lambda plans, actor: plans.withdraw_change(subscription, actor=actor))


@cli.command()
@click.argument("subscription")
@click.option("--reason", required=True, help="Why, for the reseller's email (non-payment, …).")
@json_option
@pass_session
def suspend(session: Session, subscription: str, reason: str) -> None:
    """Suspend SUBSCRIPTION (its storefront goes offline)."""
    _act(session, lambda plans, actor: plans.suspend(subscription, actor=actor, reason=reason))


@cli.command()
@click.argument("subscription")
@json_option
@pass_session
def resume(session: Session, subscription: str) -> None:
    """Resume a suspended SUBSCRIPTION."""
    _act(session, lambda plans, actor: plans.resume(subscription, actor=actor))


@cli.command()
@click.argument("subscription")
@json_option
@pass_session
def retry(session: Session, subscription: str) -> None:
    """Retry the failed provisioning of SUBSCRIPTION."""
    sub = _act(session, lambda plans, actor: plans.retry(subscription, actor=actor))
    sys.exit(EXIT_OK if sub.sync_status.value == "synchronized" else EXIT_FAILED)


@cli.command()
@click.argument("target")
@json_option
@pass_session
def status(session: Session, target: str) -> None:
    """Show an account's plan (TARGET is an account id) or a subscription (its id)."""
    with _errors(session):
        try:
            found: Subscription | None = session.plans.get(target)
        except NotFound:
            found = session.plans.subscription_of(target)
    if found is not None:
        _show_subscription(session, found)
    elif session.json_output:  # no live subscription: the account is on Basic
        click.echo(json.dumps({"account": target, "plan": Plan.BASIC.value}))
    else:
        session.out.print(f"account {target}: {Plan.BASIC.title} (no subscription)")


@cli.command()
@click.argument("subscription")
@json_option
@pass_session
def history(session: Session, subscription: str) -> None:
    """Every event of SUBSCRIPTION, in order."""
    with _errors(session):
        events = session.plans.history(subscription)
    if session.json_output:
        click.echo(json.dumps([event_to_dict(e) for e in events], indent=2))
        return
    table = Table("when", "event", "details")
    for event in events:
        details = ", ".join(
            f"{k}={v}"
            for k, v in event_to_dict(event).items()
            if k not in ("type", "subscription_id", "at")
        )
        table.add_row(event.at.isoformat(timespec="seconds"), event.name, details)
    session.out.print(table)


@cli.command("run-due")
@json_option
@pass_session
def run_due(session: Session) -> None:
    """Do what is due now: resume operations, apply scheduled changes, renew, send email."""
    with _errors(session):
        report = session.plans.run_due()
    data = attrs.asdict(report)
    if session.json_output:
        click.echo(json.dumps(data))
    else:
        session.out.print(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in data.items()))


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def emulator(ctx: click.Context) -> None:
    """Serve the BSS and Storefront emulator on loopback (options: --port, --fixture, …)."""
    from reseller_plans.testing.emulator.__main__ import main as emulator_main  # noqa: PLC0415

    sys.exit(emulator_main(ctx.args))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The interface to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@pass_session
def serve(session: Session, host: str, port: int) -> None:
    """Serve the service manager the platform calls (needs the `server` extra).

    The platform authenticates with RESELLER_PLANS_PLATFORM_APPLICATION_ID and
    RESELLER_PLANS_PLATFORM_API_KEY (environment or file only).
    """
    try:
        import uvicorn  # noqa: PLC0415 - the `server` extra

        from reseller_plans.service_manager import ServiceManager  # noqa: PLC0415
        from reseller_plans.service_manager.asgi import SERVER_LIMITS, create_app  # noqa: PLC0415
    except ImportError:
        _fail(session, "serve needs the server extra: pip install 'reseller-plans[server]'", 2)
    with _errors(session):
        settings = session.settings
        settings.require("platform_application_id", "platform_api_key", "distributor")
        manager = ServiceManager(
            session.plans,
            credentials={
                settings.platform_application_id or "": (
                    settings.platform_api_key.reveal() if settings.platform_api_key else ""
                )
            },
            distributor_id=settings.distributor or "",
        )
    session.err.print(f"service manager on http://{host}:{port}/")
    # Timeouts and connection limits: SERVER_LIMITS (docs/service-manager.md, "Server limits").
    uvicorn.run(
        create_app(manager),
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        **SERVER_LIMITS,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The console script's entry point."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="reseller-plans")
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
