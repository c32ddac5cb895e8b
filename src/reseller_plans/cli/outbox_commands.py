"""The outbox as an operator sees it: ``outbox`` lists its messages (the failed ones, the
waiting ones), ``resend`` sends one again."""

from __future__ import annotations

import sys
from typing import Any

import click

from reseller_plans.cli.app import cli, json_option, pass_session
from reseller_plans.cli.render import print_records
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
@click.option("--failed", is_flag=True, help="Only those refused for good.")
@click.option("--waiting", is_flag=True, help="Only those not sent yet.")
@click.option("--sent", is_flag=True, help="Only those sent.")
@click.option("--subscription", help="Only the messages of this subscription.")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most this many.")
@click.option("--csv", "csv_output", is_flag=True, help="Write the list as CSV.")
@json_option
@pass_session
def outbox(
    session: Session,
    failed: bool,
    waiting: bool,
    sent: bool,
    subscription: str | None,
    limit: int | None,
    csv_output: bool,
) -> None:
    """List the distributor's outbox messages, oldest first (every one, or only --failed,
    --waiting or --sent). Exit 1 with --failed when there is any."""
    if csv_output and session.json_output:
        raise click.UsageError("--csv and --json are two formats: give one")
    chosen = [name for name, on in (("failed", failed), ("waiting", waiting), ("sent", sent)) if on]
    if len(chosen) > 1:
        raise click.UsageError(f"--{' and --'.join(chosen)} are exclusive: give one, or none")
    status = chosen[0] if chosen else None
    records: list[dict[str, Any]] = []
    with errors(session):
        if subscription is not None:
            session.plans.get(subscription)  # NotFound: say so, rather than list nothing
        found = session.plans.messages(
            status=status, subscription_id=subscription, distributor_id=session.actor.id
        )
        for entry in found:
            if limit is not None and len(records) >= limit:
                break
            records.append(message_record(entry))
    shown = [{**r, "to": " ".join(r["to"])} for r in records] if csv_output else records
    print_records(
        session, shown, csv_columns=COLUMNS if csv_output else None,
        table=[("message", "message"), ("subscription", "subscription"), ("kind", "kind"),
               ("status", "status"), ("attempts", "attempts"), ("last error", "last_error")],
        nouns=("message", "messages"),
    )  # fmt: skip
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
