"""The outbox as an operator sees it: ``outbox`` lists its messages (the failed ones, the
waiting ones), ``resend`` sends one again."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich import box
from rich.table import Table

from reseller_plans.cli.app import cli, json_option, pass_session
from reseller_plans.cli.render import print_csv_table
from reseller_plans.cli.session import EXIT_FAILED, EXIT_OK, Session, errors
from reseller_plans.domain.messages import MessageStatus
from reseller_plans.ports import OutboxEntry

__all__ = ["outbox", "resend"]

COLUMNS = (
    "message", "subscription", "kind", "status", "to", "created_at", "sent_at", "attempts",
    "last_error",
)  # fmt: skip


def message_record(entry: OutboxEntry) -> dict[str, Any]:
    """One message as JSON values."""
    return {
        "message": entry.id,
        "subscription": entry.subscription_id,
        "kind": entry.kind.value,
        "status": entry.status.value,
        "to": list(entry.to),
        "created_at": entry.created_at.isoformat(),
        "sent_at": entry.sent_at.isoformat() if entry.sent_at else None,
        "attempts": entry.attempts,
        "last_error": entry.last_error,
    }


@cli.command()
@click.option("--failed", "status", flag_value="failed", help="Only those refused for good.")
@click.option("--waiting", "status", flag_value="waiting", help="Only those not sent yet.")
@click.option("--sent", "status", flag_value="sent", help="Only those sent.")
@click.option("--subscription", help="Only the messages of this subscription.")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most this many.")
@click.option("--csv", "csv_output", is_flag=True, help="Write the list as CSV.")
@json_option
@pass_session
def outbox(
    session: Session,
    status: str | None,
    subscription: str | None,
    limit: int | None,
    csv_output: bool,
) -> None:
    """List the outbox's messages, oldest first (every one, or only --failed, --waiting or
    --sent). Exit 1 with --failed when there is any."""
    if csv_output and session.json_output:
        raise click.UsageError("--csv and --json are two formats: give one")
    records: list[dict[str, Any]] = []
    with errors(session):
        for entry in session.plans.messages(status=status, subscription_id=subscription):
            if limit is not None and len(records) >= limit:
                break
            records.append(message_record(entry))
    if session.json_output:
        session.echo_json(records)
    elif csv_output:
        print_csv_table(COLUMNS, [{**r, "to": " ".join(r["to"])} for r in records])
    else:
        table = Table(*("message", "subscription", "kind", "status", "attempts", "last error"),
                      box=box.SIMPLE_HEAD)  # fmt: skip
        for r in records:
            table.add_row(r["message"], r["subscription"], r["kind"], r["status"],
                          str(r["attempts"]), r["last_error"] or "")  # fmt: skip
        session.out.print(table)
        noun = "message" if len(records) == 1 else "messages"
        session.out.print(f"{len(records)} {noun}", highlight=False)
    sys.exit(EXIT_FAILED if status == MessageStatus.FAILED.value and records else EXIT_OK)


@cli.command()
@click.argument("message")
@json_option
@pass_session
def resend(session: Session, message: str) -> None:
    """Send MESSAGE again (one refused for good, or still waiting), its attempts started
    over; the subscription's history records who asked. Exit 1 if it is not sent now."""
    with errors(session):
        entry = session.plans.resend(message, actor=session.actor)
    record = message_record(entry)
    if session.json_output:
        session.echo_json(record)
    else:
        said = "sent" if entry.status is MessageStatus.SENT else f"not sent: {entry.last_error}"
        session.out.print(f"message {entry.id}: {said}", highlight=False, markup=False)
    sys.exit(EXIT_OK if entry.status is MessageStatus.SENT else EXIT_FAILED)
