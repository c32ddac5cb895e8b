"""Bulk upgrades: one reseller or ten thousand, resumable, with a report.

Each row carries an idempotency key (the CSV's ``key`` column, or one derived from the row), and
every upgrade is sent with it, so the store's idempotency records are the run's journal: running
the same rows again after an interruption skips what was done, finishes what was under way and
does the rest, without a second order for any row.
"""

from __future__ import annotations

import csv
import enum
import io
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

import attrs

from reseller_plans.domain.actors import Actor
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import (
    AliasTaken,
    InvalidAlias,
    InvalidInput,
    NotEligible,
    ResellerPlansError,
)
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import SubscriptionStatus
from reseller_plans.service import ResellerPlans

__all__ = [
    "BulkReport",
    "BulkUpgrade",
    "RowOutcome",
    "RowResult",
    "UpgradeRow",
    "read_upgrade_rows",
]

REQUIRED_COLUMNS = ("account", "plan", "alias")


@attrs.frozen
class UpgradeRow:
    """One upgrade to make.

    Attributes:
        line: where it came from (the CSV line number; 0 for rows built in code).
        account_id: the reseller account.
        plan: the plan to move it to.
        alias: its Storefront Alias (None when it keeps its own, Free → Standard).
        key: the idempotency key of this row.
    """

    line: int
    account_id: str
    plan: Plan
    alias: str | None
    key: str

    @classmethod
    def of(cls, account_id: str, plan: Plan | str, alias: str | None, line: int = 0) -> UpgradeRow:
        """A row with its key derived from its content."""
        target = Plan.parse(plan)
        key = f"bulk:{account_id}:{target.value}:{(alias or '').strip().lower()}"
        return cls(line, account_id, target, alias, key)


def read_upgrade_rows(source: str | Path | io.TextIOBase) -> list[UpgradeRow]:
    """Read rows from a CSV with the columns ``account``, ``plan``, ``alias`` (and an optional
    ``key``). Every problem is reported with its line number; nothing is read half.

    Raises:
        InvalidInput: a missing column, an empty account, an unknown plan, an invalid alias or a
            duplicate row, naming the line.
    """
    if isinstance(source, str | Path):
        with open(source, newline="", encoding="utf-8") as handle:
            return read_upgrade_rows(io.StringIO(handle.read()))
    reader = csv.DictReader(source)
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InvalidInput(f"line 1: the CSV needs the columns {', '.join(missing)}")
    reader.fieldnames = columns
    rows: list[UpgradeRow] = []
    seen: dict[str, int] = {}
    problems: list[str] = []
    for record in reader:
        line = reader.line_num
        if None in record:
            problems.append(f"line {line}: more fields than columns")
            continue
        account = (record.get("account") or "").strip()
        alias = (record.get("alias") or "").strip() or None
        if not account:
            problems.append(f"line {line}: the account is empty")
            continue
        try:
            row = UpgradeRow.of(account, (record.get("plan") or "").strip(), alias, line)
            if alias is not None:
                StorefrontAlias.parse(alias)
        except InvalidInput as exc:
            problems.append(f"line {line}: {exc}")
            continue
        if row.plan is Plan.BASIC:
            problems.append(f"line {line}: Basic is not an upgrade")
            continue
        key = (record.get("key") or "").strip()
        if key:
            row = attrs.evolve(row, key=key)
        if row.key in seen:
            problems.append(f"line {line}: the same row as line {seen[row.key]}")
            continue
        seen[row.key] = line
        rows.append(row)
    if problems:
        raise InvalidInput("malformed CSV: " + "; ".join(problems))
    return rows


class RowOutcome(enum.Enum):
    DONE = "done"
    """Upgraded in this run."""
    SKIPPED = "skipped"
    """Already done by an earlier run of the same rows."""
    INELIGIBLE = "ineligible"
    """Refused by the eligibility check (``codes`` says why)."""
    FAILED = "failed"
    """Refused or failed for another reason (``error`` says why)."""
    CHECKED = "checked"
    """Dry run: eligible and the alias is free; nothing was written."""


@attrs.frozen
class RowResult:
    """What happened to one row."""

    row: UpgradeRow
    outcome: RowOutcome
    subscription_id: str | None = None
    status: str | None = None
    codes: tuple[str, ...] = ()
    error: str = ""

    @property
    def ok(self) -> bool:
        """True for done, skipped and checked rows."""
        return self.outcome in (RowOutcome.DONE, RowOutcome.SKIPPED, RowOutcome.CHECKED)


@attrs.frozen
class BulkReport:
    """The results of a bulk run, in the rows' order."""

    results: tuple[RowResult, ...]
    dry_run: bool = False

    @property
    def counts(self) -> Counter[str]:
        """How many rows ended each way."""
        return Counter(r.outcome.value for r in self.results)

    @property
    def ok(self) -> bool:
        """True when no row failed or was ineligible."""
        return all(r.ok for r in self.results)


class BulkUpgrade:
    """Upgrades many resellers with bounded concurrency.

    Args:
        plans: the service.
        actor: the distributor acting.
        concurrency: upgrades in flight at once (threads; the HTTP adapters are thread-safe).
        dry_run: only check eligibility and alias availability; write nothing.
        on_result: called (from a worker thread) as each row finishes, for progress bars.
    """

    def __init__(
        self,
        plans: ResellerPlans,
        actor: Actor,
        *,
        concurrency: int = 8,
        dry_run: bool = False,
        on_result: Callable[[RowResult], None] | None = None,
    ) -> None:
        if concurrency < 1:
            raise InvalidInput("concurrency must be at least 1")
        self.plans = plans
        self.actor = actor
        self.concurrency = concurrency
        self.dry_run = dry_run
        self._on_result = on_result
        self._lock = threading.Lock()

    def run(self, rows: Iterable[UpgradeRow]) -> BulkReport:
        """Run every row; a row's failure never stops the others."""
        work: Sequence[UpgradeRow] = list(rows)
        # Rows that want the same alias run one wave after another, in the rows' order, so the
        # first of them gets it whatever the concurrency; everything else runs side by side.
        waves: list[list[int]] = []
        seen: Counter[str] = Counter()
        for index, row in enumerate(work):
            alias = (row.alias or "").strip().lower()
            wave = seen[alias] if alias else 0
            seen[alias] += 1
            while len(waves) <= wave:
                waves.append([])
            waves[wave].append(index)
        results: list[RowResult | None] = [None] * len(work)
        pool = ThreadPoolExecutor(max_workers=self.concurrency)
        try:
            for wave_indexes in waves:
                self._run_wave(pool, work, wave_indexes, results)
        finally:
            # On Ctrl-C (or a crash) start no new row; the ones in flight finish or fail, and
            # the idempotency records let the next run pick up from there.
            pool.shutdown(wait=True, cancel_futures=True)
        return BulkReport(tuple(r for r in results if r is not None), self.dry_run)

    def _run_wave(
        self,
        pool: ThreadPoolExecutor,
        work: Sequence[UpgradeRow],
        indexes: Sequence[int],
        results: list[RowResult | None],
    ) -> None:
        # At most `concurrency` rows are ever submitted: nothing queues up behind a failure,
        # and ten thousand rows do not become ten thousand futures at once.
        pending: dict[Future[RowResult], int] = {}
        queue = iter(indexes)

        def fill() -> None:
            while len(pending) < self.concurrency:
                index = next(queue, None)
                if index is None:
                    return
                pending[pool.submit(self._one, work[index])] = index

        fill()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                results[pending.pop(future)] = future.result()
            fill()

    def _one(self, row: UpgradeRow) -> RowResult:
        result = self._check(row) if self.dry_run else self._upgrade(row)
        if self._on_result is not None:
            with self._lock:
                self._on_result(result)
        return result

    def _check(self, row: UpgradeRow) -> RowResult:
        try:
            report = self.plans.check(row.account_id, row.plan, actor=self.actor, alias=row.alias)
        except ResellerPlansError as exc:
            return RowResult(row, RowOutcome.FAILED, error=str(exc))
        if report.eligible:
            return RowResult(row, RowOutcome.CHECKED)
        codes = tuple(f.code.value for f in report.failures)
        return RowResult(row, RowOutcome.INELIGIBLE, codes=codes, error=str(report))

    def _upgrade(self, row: UpgradeRow) -> RowResult:
        try:
            earlier = self.plans.find_by_key(row.key, actor=self.actor)
            if earlier is not None and earlier.status is SubscriptionStatus.ACTIVE:
                return RowResult(row, RowOutcome.SKIPPED, earlier.id, earlier.status.value)
            sub = self.plans.upgrade(
                row.account_id, row.plan, alias=row.alias, actor=self.actor,
                idempotency_key=row.key,
            )  # fmt: skip
        except NotEligible as exc:
            codes = tuple(f.code.value for f in exc.report.failures)
            return RowResult(row, RowOutcome.INELIGIBLE, codes=codes, error=str(exc))
        except (InvalidAlias, AliasTaken) as exc:
            code = "INVALID_ALIAS" if isinstance(exc, InvalidAlias) else "ALIAS_TAKEN"
            return RowResult(row, RowOutcome.FAILED, codes=(code,), error=str(exc))
        except ResellerPlansError as exc:
            return RowResult(row, RowOutcome.FAILED, error=str(exc))
        if sub.status is SubscriptionStatus.ACTIVE:
            return RowResult(row, RowOutcome.DONE, sub.id, sub.status.value)
        reason = (
            sub.failure_reason
            or (sub.operation.reason if sub.operation is not None else None)
            or "provisioning did not complete"
        )
        return RowResult(row, RowOutcome.FAILED, sub.id, sub.status.value, error=reason)
