"""The pre-check (``CheckOnly``) of ``Subscriptions/Create`` and ``Update``: the planners decide.

Whether the call would succeed is what ``ResellerPlans.preview.upgrade`` and
``preview.change_plan`` say: the planner the real call runs, on the same facts, with nothing
written. A planner stops at the first refusal; the platform shows the person at checkout every
failure at once, so a refused pre-check also lists every failing criterion of the eligibility
report (``ResellerPlans.check``, itself the ``plan_check`` planner), and the refusal itself when
the report does not name it (a missing alias, a change of the alias, a state that forbids it).
"""

from __future__ import annotations

from reseller_plans.domain.accounts import ResellerAccount
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.eligibility import EligibilityReport, FailureCode
from reseller_plans.domain.errors import (
    AliasTaken,
    Forbidden,
    IllegalTransition,
    InvalidAlias,
    NotEligible,
    ResellerPlansError,
)
from reseller_plans.domain.plans import Plan, Timing
from reseller_plans.domain.subscription import Channel, Subscription
from reseller_plans.service import ResellerPlans
from reseller_plans.service_manager.catalog import ALIAS_ATTRIBUTE
from reseller_plans.service_manager.codes import ResultCode

__all__ = ["failure_text", "precheck_create", "precheck_update", "state_remedy"]


def failure_text(code: str, message: str, remedy: str) -> str:
    """One failure as the pre-check's ``Message`` lists it."""
    return f"{code}: {message} (fix: {remedy})"


def state_remedy(sub: Subscription) -> str:
    """What to do about a state that forbids the call."""
    if sub.provisioning_failed:
        return "retry the failed provisioning first"
    if sub.operation is not None:
        return "wait until the operation under way completes"
    if sub.pending_change is not None:
        return "withdraw the scheduled change first"
    return f"the subscription is {sub.status.value}"


def precheck_create(
    plans: ResellerPlans,
    actor: Actor,
    account_id: str,
    plan: Plan,
    alias: str | None,
    account: ResellerAccount | None = None,
) -> tuple[ResultCode, str]:
    """The pre-check of a ``Subscriptions/Create``: its code and message (``account`` as the
    service manager's account reader read it, with the platform's token).

    Raises:
        ResellerPlansError: what the handler answers itself (an unknown account, a backend).
    """
    preview = plans.preview.upgrade(
        account_id, plan, actor=actor, alias=alias, channel=Channel.PLATFORM, account=account
    )
    if preview.error is None:
        return ResultCode.OK, f"account {account_id} may have the {plan.title} plan"
    report = plans.check(account_id, plan, actor=actor, alias=alias, account=account)
    problems = [failure_text(f.code.value, f.message, f.remedy) for f in report.failures]
    extra = _beyond_the_report(preview.error, report, plans, account_id)
    if extra is not None:
        problems.append(extra)
    missing = isinstance(preview.error, InvalidAlias) and preview.error.rule == "required"
    code = _precheck_code(report, alias_missing=missing)
    text = f"account {account_id} cannot have the {plan.title} plan: " + "; ".join(problems)
    return code, text


def precheck_update(
    plans: ResellerPlans, actor: Actor, sub: Subscription, plan: Plan, timing: Timing
) -> tuple[ResultCode, str]:
    """The pre-check of a ``Subscriptions/Update`` (or ``UpgradeDowngrade``) to ``plan``.

    Raises:
        ResellerPlansError: what the handler answers itself (a backend, another's subscription).
    """
    if plan is sub.plan:
        return ResultCode.OK, f"subscription {sub.id} is on {plan.title} already"
    preview = plans.preview.change_plan(sub.id, plan, actor=actor, timing=timing)
    error = preview.error
    if error is None:
        return ResultCode.OK, f"subscription {sub.id} may move to {plan.title}"
    if not isinstance(error, IllegalTransition | NotEligible):
        raise error
    problems: list[str] = []
    code = ResultCode.ILLEGAL_STATE
    if isinstance(error, IllegalTransition):
        problems.append(failure_text("ILLEGAL_STATE", str(error), state_remedy(sub)))
    if plan is Plan.STANDARD:
        report = plans.check(sub.account_id, plan, actor=actor)
        if report.failures:
            code = ResultCode.NOT_ELIGIBLE
        problems += [failure_text(f.code.value, f.message, f.remedy) for f in report.failures]
    text = f"subscription {sub.id} cannot move to the {plan.title} plan: "
    return code, text + "; ".join(problems)


def _beyond_the_report(
    error: ResellerPlansError, report: EligibilityReport, plans: ResellerPlans, account_id: str
) -> str | None:
    """The planner's refusal, in the pre-check's words, unless the report names it already."""
    if isinstance(error, NotEligible):
        return None
    if isinstance(error, InvalidAlias) and error.rule == "required":
        return failure_text(
            FailureCode.INVALID_ALIAS.value,
            "a Storefront Alias is required",
            f"enter the {ALIAS_ATTRIBUTE} on the order line or at checkout",
        )
    named = {
        InvalidAlias: FailureCode.INVALID_ALIAS,
        AliasTaken: FailureCode.ALIAS_TAKEN,
        Forbidden: FailureCode.NOT_DISTRIBUTORS_ACCOUNT,
    }
    for kind, code in named.items():
        if isinstance(error, kind) and code in report.codes:
            return None
    if isinstance(error, IllegalTransition):
        if error.state == "pending" and FailureCode.UPGRADE_UNDER_WAY in report.codes:
            return None
        if error.action == "change the Storefront Alias of":
            live = plans.subscription_of(account_id)
            kept = None if live is None or live.alias is None else live.alias.value
            reason = f"the alias stays {kept!r} for the life of the subscription"
            return failure_text("ALIAS_CHANGE", reason, "keep the alias")
        if FailureCode.ILLEGAL_MOVE in report.codes:
            return None
        return failure_text("ILLEGAL_STATE", str(error), "choose another plan")
    return failure_text(type(error).__name__, str(error), "correct the order")


def _precheck_code(report: EligibilityReport, *, alias_missing: bool) -> ResultCode:
    alias_codes = {FailureCode.ALIAS_TAKEN, FailureCode.INVALID_ALIAS}
    state_codes = {FailureCode.UPGRADE_UNDER_WAY}
    if report.codes - alias_codes - state_codes:
        return ResultCode.NOT_ELIGIBLE
    if FailureCode.INVALID_ALIAS in report.codes or alias_missing:
        return ResultCode.INVALID_ALIAS
    if FailureCode.ALIAS_TAKEN in report.codes:
        return ResultCode.ALIAS_TAKEN
    return ResultCode.ILLEGAL_STATE  # an upgrade under way, or a change of the alias
