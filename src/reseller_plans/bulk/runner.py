"""Bulk upgrades: one reseller or ten thousand, resumable, with a report.

Each row carries an idempotency key (the CSV's ``key`` column, or one derived from the row), and
every upgrade is sent with it, so the store's idempotency records are the run's journal: running
the same rows again after an interruption skips what was done, finishes what was under way and
does the rest, without a second order for any row.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from reseller_plans.bulk.dry_run import DryRunPredictor
from reseller_plans.bulk.outcomes import BulkReport, RowOutcome, RowResult, refusal
from reseller_plans.bulk.rows import RowProblem, UpgradeRow
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.errors import InvalidInput, ResellerPlansError
from reseller_plans.domain.messages import MessageStatus
from reseller_plans.domain.subscription import SubscriptionStatus
from reseller_plans.service import ResellerPlans

__all__ = ["BulkUpgrade"]


class BulkUpgrade:
    """Upgrades many resellers with bounded concurrency.

    Args:
        plans: the service.
        actor: the distributor acting.
        concurrency: upgrades in flight at once (threads; the HTTP adapters are thread-safe).
        dry_run: only predict each row's outcome (``checked`` for ``done``); write nothing.
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
        self._predictor = DryRunPredictor(plans, actor) if dry_run else None

    def run(self, rows: Iterable[UpgradeRow], problems: Iterable[RowProblem] = ()) -> BulkReport:
        """Run every row; a row's failure never stops the others.

        Args:
            rows: the rows to run.
            problems: the malformed rows of the same file, reported ``invalid`` in line order.

        Returns:
            The report, in line order (rows built in code keep their order).
        """
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
        done = [r for r in results if r is not None]
        invalid = [RowResult.invalid(p) for p in problems]
        for result in invalid:
            self._report(result)
        if invalid:
            done = sorted([*done, *invalid], key=lambda r: r.row.line)
        return BulkReport(tuple(done), self.dry_run)

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
        predictor = self._predictor
        result = self._upgrade(row) if predictor is None else predictor.predict(row)
        self._report(result)
        return result

    def _report(self, result: RowResult) -> None:
        if self._on_result is not None:
            with self._lock:
                self._on_result(result)

    def _upgrade(self, row: UpgradeRow) -> RowResult:
        try:
            earlier = self.plans.find_by_key(row.key, actor=self.actor)
            if earlier is not None and earlier.status is SubscriptionStatus.ACTIVE:
                return RowResult(row, RowOutcome.SKIPPED, earlier.id, earlier.status.value)
            sub = self.plans.upgrade(
                row.account_id, row.plan, alias=row.alias, actor=self.actor,
                idempotency_key=row.key,
            )  # fmt: skip
        except ResellerPlansError as exc:
            return refusal(row, exc)
        if sub.status is SubscriptionStatus.ACTIVE:
            statuses = [m.status for m in self.plans.outbox(sub.id)]
            return RowResult(
                row, RowOutcome.DONE, sub.id, sub.status.value,
                emails_failed=statuses.count(MessageStatus.FAILED),
                emails_waiting=statuses.count(MessageStatus.WAITING),
            )  # fmt: skip
        reason = (
            sub.failure_reason
            or (sub.operation.reason if sub.operation is not None else None)
            or "provisioning did not complete"
        )
        return RowResult(row, RowOutcome.FAILED, sub.id, sub.status.value, error=reason)
