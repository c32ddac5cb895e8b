"""``list``: the distributor's subscriptions that match the filters, as a table, JSON or CSV."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import click
from rich import box
from rich.table import Table

from reseller_plans.cli.app import cli, json_option, pass_session
from reseller_plans.cli.render import print_csv_table, subscription_dict
from reseller_plans.cli.session import Session, errors
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import SubscriptionStatus, SyncStatus

__all__ = ["list_subscriptions"]

COLUMNS = (
    "id", "account", "plan", "effective_plan", "alias", "status", "sync", "term_end",
    "platform_subscription", "failure_reason",
)  # fmt: skip


def _instant(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date and time") from None
    if parsed.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no UTC offset (add Z or +00:00)")
    return parsed


@cli.command("list")
@click.option("--account", help="Only this account's subscriptions.")
@click.option(
    "--status", "statuses", multiple=True,
    type=click.Choice([s.value for s in SubscriptionStatus], case_sensitive=False),
    help="Only in this status (again for several).",
)  # fmt: skip
@click.option(
    "--sync", type=click.Choice([s.value for s in SyncStatus], case_sensitive=False),
    help="Only in this sync status (failed: waiting for retry).",
)  # fmt: skip
@click.option(
    "--plan", type=click.Choice([p.value for p in Plan], case_sensitive=False),
    help="Only holding this plan.",
)  # fmt: skip
@click.option(
    "--changed-since", callback=_instant, metavar="WHEN",
    help="Only those with an event at or after WHEN (ISO 8601 with an offset).",
)  # fmt: skip
@click.option("--limit", type=click.IntRange(min=1), help="Show at most this many.")
@click.option("--csv", "csv_output", is_flag=True, help="Write the list as CSV.")
@json_option
@pass_session
def list_subscriptions(
    session: Session,
    account: str | None,
    statuses: Sequence[str],
    sync: str | None,
    plan: str | None,
    changed_since: dt.datetime | None,
    limit: int | None,
    csv_output: bool,
) -> None:
    """List the distributor's subscriptions, in the order they were created."""
    if csv_output and session.json_output:
        raise click.UsageError("--csv and --json are two formats: give one")
    records: list[dict[str, Any]] = []
    with errors(session):
        found = session.plans.subscriptions(
            distributor_id=session.actor.id, account_id=account, status=statuses or None,
            sync=sync, plan=plan, changed_since=changed_since,
        )  # fmt: skip
        for sub in found:
            if limit is not None and len(records) >= limit:
                break
            records.append(subscription_dict(sub))
    if session.json_output:
        session.echo_json(records)
        return
    if csv_output:
        print_csv_table(COLUMNS, records)
        return
    table = Table(*("subscription", "account", "plan", "status", "sync", "term end"),
                  box=box.SIMPLE_HEAD)  # fmt: skip
    for r in records:
        table.add_row(r["id"], r["account"], r["plan"], r["status"], r["sync"],
                      r["term_end"][:16].replace("T", " "))  # fmt: skip
    session.out.print(table)
    noun = "subscription" if len(records) == 1 else "subscriptions"
    session.out.print(f"{len(records)} {noun}", highlight=False)
