"""How the commands show what they did: tables for a person, JSON and CSV for a script.

JSON and CSV carry typed values: line numbers as numbers, codes as lists (in CSV, separated by
spaces), and the message and remedy of each failure. CSV cells that a spreadsheet would read as a
formula are neutralised (OWASP's CSV-injection guidance: every cell quoted, and a ``'`` before a
cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return); the CSV reader of
``upgrade --from-csv`` undoes exactly that, so a report fed back in means the same rows. JSON is
exact. Tables fit 100 columns and never cut an id an operator must copy.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import attrs
import click
from rich import box
from rich.progress import ProgressColumn, Task
from rich.table import Table
from rich.text import Text

from reseller_plans.bulk import BulkReport, RowOutcome, RowResult
from reseller_plans.bulk.rows import FORMULA_TRIGGERS
from reseller_plans.cli.session import Session
from reseller_plans.domain.eligibility import EligibilityReport
from reseller_plans.domain.subscription import Subscription
from reseller_plans.service import DueReport

__all__ = [
    "OUTCOMES",
    "RateColumn",
    "bulk_record",
    "neutralise",
    "print_bulk",
    "print_reports",
    "print_subscription",
    "print_records",
    "subscription_dict",
]

OUTCOMES = ("done", "checked", "skipped", "ineligible", "failed", "invalid")
"""Every outcome a row can have, in the order summaries list them."""

_OUTCOME_STYLE = {"done": "green", "checked": "green", "skipped": "cyan", "invalid": "yellow"}


def subscription_dict(sub: Subscription) -> dict[str, Any]:
    """A subscription as JSON values."""
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


def print_subscription(session: Session, sub: Subscription) -> None:
    """Show a subscription: JSON, or a two-column table a person reads."""
    data = subscription_dict(sub)
    if session.json_output:
        session.echo_json(data)
        return
    change = sub.pending_change
    readable = {
        **data,
        "plan": sub.plan.title,
        "effective_plan": sub.effective_plan.title,
        "term_end": f"{sub.term.end:%Y-%m-%d %H:%M} UTC",
        "auto_renew": "yes" if sub.term.auto_renew else "no",
        "pending_change": None
        if change is None
        else f"{change.kind.value.replace('_', ' ')} to {change.plan.title} "
        f"on {change.effective_at:%Y-%m-%d %H:%M} UTC",
    }
    table = Table(show_header=False, box=None)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in readable.items():
        table.add_row(key.replace("_", " "), "" if value is None else str(value))
    session.out.print(table)


def report_dict(report: EligibilityReport) -> dict[str, Any]:
    """An eligibility report as JSON values."""
    return {
        "account": report.account_id,
        "plan": report.plan.value,
        "found": True,
        "eligible": report.eligible,
        "failures": [
            {"code": f.code.value, "message": f.message, "remedy": f.remedy}
            for f in report.failures
        ],
    }


def print_reports(session: Session, reports: Sequence[dict[str, Any]]) -> None:
    """Show eligibility reports (``report_dict``, or an unknown account's ``found: false``)."""
    if session.json_output:
        session.echo_json(list(reports))
        return
    table = Table("account", "plan", "eligible", "why not, and the fix", box=box.SIMPLE_HEAD)
    for r in reports:
        if not r["found"]:
            table.add_row(r["account"], r["plan"].title(), "[red]no[/]", r["error"])
            continue
        why = "\n".join(f"{f['code']}: {f['message']} → {f['remedy']}" for f in r["failures"])
        eligible = "yes" if r["eligible"] else "[red]no[/]"
        table.add_row(r["account"], r["plan"].title(), eligible, why)
    session.out.print(table)


def bulk_record(result: RowResult) -> dict[str, Any]:
    """One row's result as JSON values."""
    row = result.row
    invalid = result.outcome is RowOutcome.INVALID
    return {
        "line": row.line or None,
        "account": row.account_id,
        "plan": None if invalid else row.plan.value,
        "alias": row.alias,
        "key": row.key or None,
        "outcome": result.outcome.value,
        "subscription": result.subscription_id,
        "status": result.status,
        "codes": list(result.codes),
        "failures": [
            {"code": f.code.value, "message": f.message, "remedy": f.remedy}
            for f in result.failures
        ],
        "error": result.error or None,
        "emails_failed": result.emails_failed,
        "emails_waiting": result.emails_waiting,
    }


def print_bulk(session: Session, report: BulkReport, *, csv_output: bool) -> None:
    """Show a bulk run's report: JSON, CSV, or a table with the reasons below it."""
    records = [bulk_record(r) for r in report.results]
    if session.json_output:
        counts = {outcome: report.counts.get(outcome, 0) for outcome in OUTCOMES}
        emails = {"failed": report.emails_failed, "waiting": report.emails_waiting}
        session.echo_json(
            {"dry_run": report.dry_run, "counts": counts, "emails": emails, "rows": records}
        )
        return
    if csv_output:
        print_csv(records)
        return
    table = Table(box=box.SIMPLE_HEAD)
    for name in ("line", "account", "plan", "alias", "outcome"):
        table.add_column(name, overflow="fold")
    ids = [rec["subscription"] or "" for rec in records]
    table.add_column("subscription", no_wrap=True, min_width=max(map(len, ids), default=12))
    reasons: list[str] = []
    for rec in records:
        color = _OUTCOME_STYLE.get(rec["outcome"], "red")
        table.add_row(
            str(rec["line"] or ""), rec["account"], rec["plan"] or "", rec["alias"] or "",
            f"[{color}]{rec['outcome']}[/]", rec["subscription"] or "",
        )  # fmt: skip
        where = f"line {rec['line']}" if rec["line"] else f"account {rec['account']}"
        reasons += [
            f"{where}: {f['code']}: {f['message']} → {f['remedy']}" for f in rec["failures"]
        ]
        if rec["error"]:
            reasons.append(f"{where}: {rec['error']}")
        if rec["emails_failed"]:
            reasons.append(f"{where}: done, but its email was refused for good")
    session.out.print(table)
    for reason in reasons:
        session.out.print(Text(reason))
    rows = len(report.results)
    summary = ", ".join(f"{report.counts[o]} {o}" for o in OUTCOMES if report.counts[o])
    session.out.print(f"{rows} {'row' if rows == 1 else 'rows'}: {summary}", highlight=False)
    for line in emails_lines(report.emails_failed, report.emails_waiting):
        session.out.print(line, highlight=False, markup=False)


def emails_lines(failed: int, waiting: int) -> list[str]:
    """What to say of messages refused for good and of messages not sent yet."""
    lines = []
    if failed:
        lines.append(
            f"{failed} {'email' if failed == 1 else 'emails'} refused for good by the mail "
            "server: see `reseller-plans outbox --failed`, then `reseller-plans resend MESSAGE`"
        )
    if waiting:
        lines.append(
            f"{waiting} {'email' if waiting == 1 else 'emails'} not sent yet: "
            "`reseller-plans run-due` tries again"
        )
    return lines


CSV_COLUMNS = (
    "line", "account", "plan", "alias", "key", "outcome", "subscription", "status", "codes",
    "error", "remedy", "emails_failed", "emails_waiting",
)  # fmt: skip


def print_csv(records: Sequence[dict[str, Any]]) -> None:
    """Write the bulk records as CSV on standard output, neutralised against formulas."""
    cells = []
    for rec in records:
        messages = [f["message"] for f in rec["failures"]] + (
            [rec["error"]] if rec["error"] else []
        )
        cells.append({
            **rec,
            "codes": " ".join(rec["codes"]),
            "error": "; ".join(messages),
            "remedy": "; ".join(f["remedy"] for f in rec["failures"]),
        })  # fmt: skip
    print_csv_table(CSV_COLUMNS, cells)


def print_records(
    session: Session,
    records: Sequence[dict[str, Any]],
    *,
    csv_columns: Sequence[str] | None,
    table: Sequence[tuple[str, str]],
    nouns: tuple[str, str],
) -> None:
    """A listing as the operator asked for it: JSON (``--json``), CSV of ``csv_columns``
    (``--csv``, when they are given), or a table of ``(header, key)`` columns and a count.

    Args:
        session: the command's session (its output, and whether JSON was asked for).
        records: the rows, as JSON values.
        csv_columns: the CSV's columns, or None when CSV was not asked for.
        table: the table's headers and the keys of their cells.
        nouns: the count's noun, singular and plural (``("message", "messages")``).
    """
    if session.json_output:
        session.echo_json(list(records))
        return
    if csv_columns is not None:
        print_csv_table(csv_columns, records)
        return
    shown = Table(*(header for header, _ in table), box=box.SIMPLE_HEAD)
    for record in records:
        shown.add_row(*("" if record[key] is None else str(record[key]) for _, key in table))
    session.out.print(shown)
    noun = nouns[0] if len(records) == 1 else nouns[1]
    session.out.print(f"{len(records)} {noun}", highlight=False)


def print_csv_table(columns: Sequence[str], records: Sequence[dict[str, Any]]) -> None:
    """Write ``columns`` of the records as CSV on standard output, neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(columns)
    for rec in records:
        writer.writerow([neutralise(rec[c]) for c in columns])
    click.echo(buffer.getvalue(), nl=False)


def neutralise(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: ``'`` before a leading formula character."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


class RateColumn(ProgressColumn):
    """Rows per second, once there is a rate to show."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:.1f} rows/s", style="progress.data.speed")


def due_report_dict(report: DueReport) -> dict[str, Any]:
    """A ``run_due`` report as JSON values: its counts, the failures and the repairs."""
    data: dict[str, Any] = {
        field.name: getattr(report, field.name)
        for field in attrs.fields(DueReport)
        if field.name not in ("failures", "repaired")
    }
    data["failures"] = [
        {"subscription": f.subscription_id, "error": f.error, "retry_at": f.retry_at.isoformat()}
        for f in report.failures
    ]
    data["repaired"] = [
        {
            "subscription": r.subscription_id,
            "account": r.account_id,
            "repairs": [a.value for a in r.repairs],
        }
        for r in report.repaired
    ]
    return data


def due_summary(data: dict[str, Any]) -> str:
    """One line of a ``due_report_dict``: every count, then each failure and repair."""
    counts = [f"{k.replace('_', ' ')}: {v}" for k, v in data.items() if isinstance(v, int)]
    lines = [", ".join(counts)]
    lines += [
        f"failed: {f['subscription']}: {f['error']} (again after {f['retry_at']})"
        for f in data["failures"]
    ]
    lines += [
        f"repaired: account {r['account']} ({r['subscription']}): {', '.join(r['repairs'])}"
        for r in data["repaired"]
    ]
    lines += emails_lines(data["messages_failed"], 0)
    return "\n".join(lines)
