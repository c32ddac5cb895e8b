"""Commands on one account or subscription: check, status, history, the lifecycle actions, and
``run-due``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import click
from rich import box
from rich.table import Table

from reseller_plans.cli.app import PLAN_CHOICE, cli, json_option, pass_session
from reseller_plans.cli.render import (
    due_report_dict,
    due_summary,
    print_reports,
    print_subscription,
    report_dict,
)
from reseller_plans.cli.session import EXIT_FAILED, EXIT_OK, Session, errors, fail
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.audit import Audit
from reseller_plans.domain.errors import NotFound
from reseller_plans.domain.events import event_to_dict
from reseller_plans.domain.plans import Plan, Timing
from reseller_plans.domain.subscription import Subscription
from reseller_plans.service import ResellerPlans

__all__ = ["cancel", "change_plan", "check", "history", "resume", "retry", "run_due", "status"]


@cli.command()
@click.argument("accounts", nargs=-1, required=True)
@click.option("--plan", type=PLAN_CHOICE, default="standard", show_default=True)
@click.option("--alias", help="Also check this Storefront Alias (one account only).")
@json_option
@pass_session
def check(session: Session, accounts: Sequence[str], plan: str, alias: str | None) -> None:
    """Check whether ACCOUNTS may be upgraded; exit 1 if any may not (or is not found)."""
    if alias is not None and len(accounts) > 1:
        raise click.UsageError("--alias goes with one account")
    reports: list[dict[str, Any]] = []
    with errors(session):
        for account in accounts:
            try:
                report = session.plans.check(
                    account, Plan.parse(plan), actor=session.actor, alias=alias
                )
            except NotFound as exc:  # say so, and go on with the others
                reports.append(
                    {"account": account, "plan": plan, "found": False, "error": str(exc)}
                )
                continue
            reports.append(report_dict(report))
    print_reports(session, reports)
    ok = all(r["found"] and r["eligible"] for r in reports)
    sys.exit(EXIT_OK if ok else EXIT_FAILED)


reason_option = click.option(
    "--reason", default=None, help="Why, recorded in the audit trail (see `history`)."
)


def _act(session: Session, command: Callable[[ResellerPlans, Actor], Subscription]) -> Subscription:
    """Run a command on one subscription as the session's actor, then show what it left."""
    with errors(session):
        sub = command(session.plans, session.actor)
    print_subscription(session, sub)
    return sub


@cli.command("change-plan")
@click.argument("subscription")
@click.option("--plan", type=PLAN_CHOICE, required=True)
@click.option("--now", is_flag=True, help="Take effect now.")
@click.option("--at-term-end", is_flag=True, help="Take effect at the end of the term.")
@reason_option
@json_option
@pass_session
def change_plan(
    session: Session,
    subscription: str,
    plan: str,
    now: bool,
    at_term_end: bool,
    reason: str | None,
) -> None:
    """Move SUBSCRIPTION between Free and Standard (Standard → Free waits for the term end)."""
    if now and at_term_end:
        raise click.UsageError("--now and --at-term-end contradict each other: give one")
    timing = Timing.IMMEDIATE if now else Timing.END_OF_TERM if at_term_end else None
    _act(session, lambda plans, actor: plans.change_plan(
        subscription, Plan.parse(plan), actor=actor, timing=timing, reason=reason,
    ))  # fmt: skip


@cli.command()
@click.argument("subscription")
@click.option("--now", is_flag=True, help="Cancel now (the default).")
@click.option("--at-term-end", is_flag=True, help="Cancel at the end of the term instead.")
@reason_option
@json_option
@pass_session
def cancel(
    session: Session, subscription: str, now: bool, at_term_end: bool, reason: str | None
) -> None:
    """Cancel SUBSCRIPTION: the reseller goes back to Basic."""
    if now and at_term_end:
        raise click.UsageError("--now and --at-term-end contradict each other: give one")
    timing = Timing.END_OF_TERM if at_term_end else Timing.IMMEDIATE
    _act(session, lambda plans, actor: plans.cancel(
        subscription, actor=actor, timing=timing, reason=reason,
    ))  # fmt: skip


@cli.command()
@click.argument("subscription")
@reason_option
@json_option
@pass_session
def withdraw(session: Session, subscription: str, reason: str | None) -> None:
    """Withdraw the scheduled plan change or cancellation of SUBSCRIPTION."""
    _act(session, lambda plans, actor: plans.withdraw_change(
        subscription, actor=actor, reason=reason,
    ))  # fmt: skip


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
@reason_option
@json_option
@pass_session
def resume(session: Session, subscription: str, reason: str | None) -> None:
    """Resume a suspended SUBSCRIPTION."""
    _act(session, lambda plans, actor: plans.resume(subscription, actor=actor, reason=reason))


@cli.command()
@click.argument("subscription")
@reason_option
@json_option
@pass_session
def retry(session: Session, subscription: str, reason: str | None) -> None:
    """Retry the failed provisioning of SUBSCRIPTION."""
    sub = _act(session, lambda plans, actor: plans.retry(subscription, actor=actor, reason=reason))
    sys.exit(EXIT_OK if sub.sync_status.value == "synchronized" else EXIT_FAILED)


@cli.command()
@click.argument("target")
@json_option
@pass_session
def status(session: Session, target: str) -> None:
    """Show a subscription (TARGET is its id) or an account's plan (TARGET is an account id).

    Exit 1 when TARGET is neither.
    """
    with errors(session):
        try:
            found: Subscription | None = session.plans.get(target)
        except NotFound:
            found = session.plans.subscription_of(target)
        if found is not None:
            print_subscription(session, found)
            return
        try:
            account = session.plans.bss.get_account(target)
        except NotFound:
            fail(
                session,
                f"not found: {target} is neither a subscription nor an account",
                EXIT_FAILED,
            )
    data = {"account": account.id, "plan": account.plan.value, "subscription": None}
    if session.json_output:
        session.echo_json(data)
    else:
        session.out.print(f"account {account.id}: {account.plan.title} (no subscription here)")


@cli.command()
@click.argument("subscription")
@json_option
@pass_session
def history(session: Session, subscription: str) -> None:
    """Every event of SUBSCRIPTION, in order, with who caused it (actor, reason, idempotency
    key, correlation id)."""
    with errors(session):
        events = session.plans.history(subscription)
    if session.json_output:
        session.echo_json([event_to_dict(e) for e in events])
        return
    table = Table("when (UTC)", "event", "by", "details", box=box.SIMPLE_HEAD)
    table.columns[0].no_wrap = table.columns[1].no_wrap = True
    for event in events:
        audit = event.audit or Audit.unrecorded()
        fields = event_to_dict(event)
        for name in ("type", "subscription_id", "at", "audit"):
            fields.pop(name, None)
        if audit.reason is not None and fields.get("reason") != audit.reason:
            fields["why"] = audit.reason
        fields["key"], fields["correlation"] = audit.idempotency_key, audit.correlation_id
        details = ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in fields.items() if v is not None
        )
        table.add_row(f"{event.at:%Y-%m-%d %H:%M:%S}", event.name, audit.actor, details)
    session.out.print(table)


@cli.command("run-due")
@json_option
@pass_session
def run_due(session: Session) -> None:
    """Do what is due now: resume operations, apply scheduled changes, renew, send email."""
    with errors(session):
        report = session.plans.run_due()
    data = due_report_dict(report)
    if session.json_output:
        session.echo_json(data)
    else:
        session.out.print(due_summary(data), markup=False, highlight=False)
