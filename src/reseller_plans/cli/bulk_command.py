"""``reseller-plans upgrade``: one reseller, or every row of a CSV, with a progress bar."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence

import attrs
import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from reseller_plans.bulk import (
    BulkReport,
    BulkUpgrade,
    RowProblem,
    RowResult,
    UpgradeRow,
    read_upgrade_csv,
)
from reseller_plans.cli.app import PLAN_CHOICE, cli, json_option, pass_session
from reseller_plans.cli.render import RateColumn, print_bulk
from reseller_plans.cli.session import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Session,
    errors,
    fail,
)

__all__ = ["upgrade"]


@cli.command()
@click.argument("account", required=False)
@click.option("--plan", type=PLAN_CHOICE, help="The plan to upgrade ACCOUNT to.")
@click.option("--alias", help="The Storefront Alias of ACCOUNT (required from Basic).")
@click.option("--key", "idempotency_key", help="Idempotency key of ACCOUNT's upgrade.")
@click.option(
    "--from-csv", "csv_file", type=click.Path(exists=True, dir_okay=False),
    help="Upgrade every row of a CSV with the columns account, plan, alias (and key).",
)  # fmt: skip
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--dry-run", is_flag=True, help="Say what each row would do; write nothing.")
@click.option("--strict", is_flag=True, help="Refuse the whole CSV if any row is malformed.")
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
    strict: bool,
    csv_output: bool,
) -> None:
    """Upgrade ACCOUNT (or every row of --from-csv); resumable: run it again to finish.

    Exit status: 0 every row done (or skipped, or checked), 1 some row ineligible, failed or
    malformed, or some email refused for good by the mail server, 2 a usage or input error
    (nothing was done), 130 interrupted.
    """
    if (account is None) == (csv_file is None):
        raise click.UsageError("give either ACCOUNT with --plan, or --from-csv FILE")
    if csv_output and session.json_output:
        raise click.UsageError("--csv and --json are two formats: give one")
    problems: Sequence[RowProblem] = ()
    if csv_file is not None:
        given = [
            f for f, v in (("--plan", plan), ("--alias", alias), ("--key", idempotency_key)) if v
        ]
        if given:
            raise click.UsageError(
                f"{', '.join(given)} go with ACCOUNT; the CSV has its own columns"
            )
        with errors(session):
            read = read_upgrade_csv(csv_file)
        rows, problems = read.rows, read.problems
        if problems and strict:
            listed = "; ".join(str(p) for p in problems)
            fail(session, f"malformed CSV (--strict): {listed}", EXIT_USAGE)
    else:
        if strict:
            raise click.UsageError("--strict goes with --from-csv")
        if plan is None:
            raise click.UsageError("--plan is required with ACCOUNT")
        row = UpgradeRow.of(account or "", plan, alias)
        rows = (attrs.evolve(row, key=idempotency_key) if idempotency_key else row,)
    with errors(session):
        report = _run(session, rows, problems, concurrency=concurrency, dry_run=dry_run)
    print_bulk(session, report, csv_output=csv_output)
    sys.exit(EXIT_OK if report.ok and not report.emails_failed else EXIT_FAILED)


def _run(
    session: Session,
    rows: Sequence[UpgradeRow],
    problems: Sequence[RowProblem],
    *,
    concurrency: int,
    dry_run: bool,
) -> BulkReport:
    counts: Counter[str] = Counter()
    shown = ["checked" if dry_run else "done", "skipped", "ineligible", "failed"]
    if problems:
        shown.append("invalid")
    progress = Progress(
        TextColumn("[bold]checking" if dry_run else "[bold]upgrading"),
        BarColumn(bar_width=12),
        MofNCompleteColumn(),
        TextColumn("{task.fields[summary]}"),
        RateColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=session.err,
        transient=False,
        disable=len(rows) + len(problems) < 2 or session.json_output,
    )

    def summary() -> str:
        return "  ".join(f"{name} {counts[name]}" for name in shown)

    with progress:
        task = progress.add_task("rows", total=len(rows) + len(problems), summary=summary())

        def advance(result: RowResult) -> None:
            counts[result.outcome.value] += 1
            progress.update(task, advance=1, summary=summary())

        bulk = BulkUpgrade(
            session.plans, session.actor, concurrency=concurrency, dry_run=dry_run,
            on_result=advance,
        )  # fmt: skip
        try:
            return bulk.run(rows, problems)
        except KeyboardInterrupt:
            fail(
                session,
                "interrupted: what was done is recorded; run the same command again to finish",
                EXIT_INTERRUPTED,
            )
