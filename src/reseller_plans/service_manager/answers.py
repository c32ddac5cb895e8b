"""The Service Manager's answers: what a call's outcome, or a refusal of the library, says to the
platform (a ``ResultCode``, a message, the subscription id), apart from how the call was read.

``handler.ServiceManager`` translates the platform's call into a command and gives what came of
it to these, so that another driver of the same calls shares them.
"""

from __future__ import annotations

import attrs

from reseller_plans.domain.errors import (
    AliasTaken,
    BackendError,
    Forbidden,
    IdempotencyConflict,
    IllegalTransition,
    InvalidAlias,
    InvalidInput,
    NotEligible,
    NotFound,
    PermanentBackendError,
    ResellerPlansError,
    SubscriptionBusy,
    TransientBackendError,
)
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus
from reseller_plans.service_manager.catalog import ALIAS_ATTRIBUTE
from reseller_plans.service_manager.codes import ResultCode
from reseller_plans.service_manager.precheck import failure_text

__all__ = ["Answer", "alias_change", "final_text", "outcome", "refusal"]


@attrs.frozen
class Answer:
    """The outcome of a subscription or account call, before it becomes an envelope."""

    code: ResultCode
    message: str
    result: str | None = None


def outcome(
    sub: Subscription,
    success: str,
    *,
    expected: SubscriptionStatus | None = None,
    plan: Plan | None = None,
) -> Answer:
    """The answer for the state a command left the subscription in.

    Args:
        sub: the subscription after the command.
        success: the message when it reached what was asked.
        expected: the status asked for, if the command changes the status.
        plan: the plan asked for, if the command changes the plan.
    """
    op = sub.operation
    if sub.provisioning_failed and op is not None:
        return Answer(
            ResultCode.BACKEND_UNAVAILABLE,
            f"the {op.kind.value} of subscription {sub.id} is waiting for a retry: "
            f"{op.reason or 'a backend was unavailable'}; retry the call later",
            sub.id,
        )
    if op is not None:
        return Answer(
            ResultCode.BACKEND_UNAVAILABLE,
            f"the {op.kind.value} of subscription {sub.id} is still in progress; retry the "
            "call later",
            sub.id,
        )
    if sub.status is SubscriptionStatus.FAILED:
        return Answer(
            ResultCode.PROVISIONING_FAILED,
            f"the activation of subscription {sub.id} failed and was rolled back "
            f"({sub.failure_reason or 'no reason given'}); account {sub.account_id} stays "
            "on Basic: fix the cause and retry (the next delivery tries afresh)",
            sub.id,
        )
    if sub.status is SubscriptionStatus.CANCELLED and expected is None:
        return Answer(ResultCode.OK, final_text(sub), sub.id)
    failed_change = plan is not None and sub.plan is not plan and sub.failure_reason
    if failed_change or (expected is not None and sub.status is not expected):
        return Answer(
            ResultCode.BACKEND_REFUSED,
            f"subscription {sub.id} stayed {sub.status.value}: the change failed and was "
            f"undone ({sub.failure_reason or 'no reason given'})",
            sub.id,
        )
    return Answer(ResultCode.OK, success, sub.id)


def alias_change(sub: Subscription, alias: str | None) -> IllegalTransition | None:
    """The refusal of a call that would change the subscription's Storefront Alias, if it would."""
    if alias is None or sub.alias is None or alias.strip().lower() == sub.alias.value:
        return None
    return IllegalTransition(
        sub.status.value,
        "change the Storefront Alias of",
        f"the alias stays {sub.alias.value!r} for the life of the subscription",
    )


def final_text(sub: Subscription) -> str:
    if sub.status is SubscriptionStatus.CANCELLED:
        return f"subscription {sub.id} is cancelled; account {sub.account_id} is on Basic"
    return (
        f"subscription {sub.id} never went live (its activation failed and was rolled back); "
        f"account {sub.account_id} is on Basic"
    )


def refusal(exc: ResellerPlansError) -> Answer:
    """The code and message for an error of the library (most specific class first)."""
    text = str(exc)
    if isinstance(exc, NotEligible):
        report = exc.report
        lines = "; ".join(failure_text(f.code.value, f.message, f.remedy) for f in report.failures)
        return Answer(
            ResultCode.NOT_ELIGIBLE,
            f"account {report.account_id} cannot have the {report.plan.title} plan: {lines}",
        )
    if isinstance(exc, AliasTaken):
        return Answer(ResultCode.ALIAS_TAKEN, text)
    if isinstance(exc, InvalidAlias):
        return Answer(ResultCode.INVALID_ALIAS, f"{text}: enter a valid {ALIAS_ATTRIBUTE}")
    if isinstance(exc, IllegalTransition):
        return Answer(ResultCode.ILLEGAL_STATE, text)
    if isinstance(exc, NotFound):
        return Answer(ResultCode.NOT_FOUND, text)
    if isinstance(exc, InvalidInput):
        return Answer(ResultCode.BAD_REQUEST, f"bad request: {text}")
    if isinstance(exc, Forbidden):
        return Answer(ResultCode.FORBIDDEN, text)
    if isinstance(exc, IdempotencyConflict):
        return Answer(
            ResultCode.CONFLICT,
            "this platform subscription was created earlier with other values (plan, alias or "
            "billing cycle); create a new subscription instead",
        )
    if isinstance(exc, SubscriptionBusy):
        return Answer(ResultCode.SUBSCRIPTION_BUSY, f"{text}; retry shortly")
    if isinstance(exc, TransientBackendError):
        return Answer(
            ResultCode.BACKEND_UNAVAILABLE,
            f"a backend is unavailable ({text}); retry later",
        )
    if isinstance(exc, PermanentBackendError | BackendError):
        return Answer(ResultCode.BACKEND_REFUSED, f"a backend refused the request: {text}")
    return Answer(ResultCode.REFUSED, text)
