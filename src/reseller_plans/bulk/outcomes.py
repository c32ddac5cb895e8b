"""What happened to each row of a bulk run, and the one mapping from a refusal to an outcome.

The outcomes mean the same in a dry run and a real run:

- ``done`` (real run) / ``checked`` (dry run): upgraded, or would be;
- ``skipped``: already done by an earlier run of the same row (its idempotency key);
- ``ineligible``: refused by a rule before anything was written: an eligibility criterion, an
  alias that is invalid, missing or taken (also by an earlier row of the same run), an account of
  another distributor, a move that is not an upgrade. ``failures`` says which, with the remedy;
- ``failed``: tried, and it did not work (provisioning rolled back, a backend unavailable, an
  unknown account);
- ``invalid``: the row itself is malformed (the CSV's line says why); it was not tried.
"""

from __future__ import annotations

import enum
from collections import Counter

import attrs

from reseller_plans.bulk.rows import RowProblem, UpgradeRow
from reseller_plans.domain.eligibility import EligibilityFailure, FailureCode
from reseller_plans.domain.errors import (
    AliasTaken,
    BackendError,
    Forbidden,
    IllegalTransition,
    InvalidAlias,
    NotEligible,
    ResellerPlansError,
)
from reseller_plans.domain.plans import Plan

__all__ = ["BulkReport", "RowOutcome", "RowResult", "refusal"]


class RowOutcome(enum.Enum):
    """How a row ended."""

    DONE = "done"
    """Upgraded in this run."""
    SKIPPED = "skipped"
    """Already done by an earlier run of the same rows."""
    INELIGIBLE = "ineligible"
    """Refused by a rule before anything was written (``failures`` says why)."""
    FAILED = "failed"
    """Tried, and it did not work (``error`` says why)."""
    CHECKED = "checked"
    """Dry run: it would be done; nothing was written."""
    INVALID = "invalid"
    """The row is malformed (``error`` says why); it was not tried."""


@attrs.frozen
class RowResult:
    """What happened to one row.

    Attributes:
        row: the row (for an ``invalid`` row, what could be read of it).
        outcome: how it ended.
        subscription_id: the subscription it produced, if any.
        status: that subscription's status.
        failures: for an ``ineligible`` row, every rule it broke, with message and remedy.
        error: for a ``failed`` or ``invalid`` row, what went wrong.
        emails_failed: for a ``done`` row, its messages the mail server refused for good
            (they wait in the outbox for a resend).
        emails_waiting: for a ``done`` row, its messages not sent yet (``run_due`` tries
            them again).
    """

    row: UpgradeRow
    outcome: RowOutcome
    subscription_id: str | None = None
    status: str | None = None
    failures: tuple[EligibilityFailure, ...] = ()
    error: str = ""
    emails_failed: int = 0
    emails_waiting: int = 0

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of ``failures``, in order."""
        return tuple(f.code.value for f in self.failures)

    @property
    def ok(self) -> bool:
        """True for done, skipped and checked rows."""
        return self.outcome in (RowOutcome.DONE, RowOutcome.SKIPPED, RowOutcome.CHECKED)

    @classmethod
    def invalid(cls, problem: RowProblem) -> RowResult:
        """The result of a malformed CSV row."""
        row = UpgradeRow(problem.line, problem.account_id, Plan.BASIC, None, "")
        return cls(row, RowOutcome.INVALID, error=problem.message)


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
        """True when every row was done, skipped or checked (its emails aside: see
        :attr:`emails_failed`)."""
        return all(r.ok for r in self.results)

    @property
    def emails_failed(self) -> int:
        """Messages of the rows done that the mail server refused for good."""
        return sum(r.emails_failed for r in self.results)

    @property
    def emails_waiting(self) -> int:
        """Messages of the rows done not sent yet (``run_due`` tries them again)."""
        return sum(r.emails_waiting for r in self.results)


def refusal(row: UpgradeRow, exc: ResellerPlansError) -> RowResult:
    """The result of a row whose upgrade raised ``exc``: ``ineligible`` when a rule refused it
    before anything was written, ``failed`` otherwise.

    The dry run reports the same rules as eligibility failures, so both runs agree.
    """
    if isinstance(exc, NotEligible):
        return RowResult(row, RowOutcome.INELIGIBLE, failures=exc.report.failures)
    failure = _rule_broken(exc)
    if failure is None:
        return RowResult(row, RowOutcome.FAILED, error=str(exc))
    return RowResult(row, RowOutcome.INELIGIBLE, failures=(failure,))


def _rule_broken(exc: ResellerPlansError) -> EligibilityFailure | None:
    if isinstance(exc, InvalidAlias):
        return EligibilityFailure(
            FailureCode.INVALID_ALIAS, str(exc), "choose an alias that follows the rules"
        )
    if isinstance(exc, AliasTaken):
        return EligibilityFailure(
            FailureCode.ALIAS_TAKEN,
            f"the Storefront Alias {exc.alias!r} is taken",
            "choose another alias",
        )
    if isinstance(exc, Forbidden) and not isinstance(exc, BackendError):  # not credentials
        return EligibilityFailure(
            FailureCode.NOT_DISTRIBUTORS_ACCOUNT,
            str(exc),
            "act as the distributor the account belongs to",
        )
    if isinstance(exc, IllegalTransition):
        if exc.state == "pending":
            return EligibilityFailure(
                FailureCode.UPGRADE_UNDER_WAY,
                str(exc),
                "wait until it completes or fails, or retry it if its provisioning failed",
            )
        return EligibilityFailure(
            FailureCode.ILLEGAL_MOVE, str(exc), "move it with change-plan, or choose another plan"
        )
    return None
