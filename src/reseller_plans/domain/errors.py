"""Every error ``reseller_plans`` raises on purpose, as one tree.

Catch at exactly the level you mean::

    ResellerPlansError
    ├── InvalidInput (also ValueError)     bad input the caller can fix; nothing was changed
    │   └── InvalidAlias                   a Storefront Alias that breaks a rule (``.rule``)
    ├── NotEligible                        the upgrade's eligibility check failed (``.report``)
    ├── Forbidden                          the actor may not act on that object
    ├── IllegalTransition                  the subscription's state does not allow the action
    │   └── ChangePending                  another change is already scheduled
    ├── AliasTaken                         the alias belongs to another reseller
    ├── IdempotencyConflict                a key reused with other arguments
    ├── NotFound (also LookupError)        no such account, subscription or object
    └── BackendError                       an outside system (BSS, Storefront, mail) failed
        ├── TransientBackendError          worth retrying later (timeouts, 429, 5xx)
        │   ├── ConcurrentUpdate           another worker changed the object first
        │   │   └── SubscriptionBusy       another driver holds the subscription now
        │   └── OutcomeUnknown             a write was sent, its answer unreadable: maybe done
        └── PermanentBackendError          retrying will not help (most 4xx, 5xx SMTP replies)

Every error renders a message a person can act on, and one raised out of a command carries its
correlation id (``.correlation_id``). ``BackendError`` carries the HTTP status,
the backend's request id and a short, redacted excerpt of the response where there was one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reseller_plans.domain.eligibility import EligibilityReport

__all__ = [
    "AliasTaken",
    "BackendError",
    "ChangePending",
    "ConcurrentUpdate",
    "Forbidden",
    "IdempotencyConflict",
    "IllegalTransition",
    "InvalidAlias",
    "InvalidInput",
    "NotEligible",
    "NotFound",
    "OutcomeUnknown",
    "PermanentBackendError",
    "ResellerPlansError",
    "SubscriptionBusy",
    "TransientBackendError",
]


def _rebuild(
    cls: type[ResellerPlansError], args: tuple[object, ...], state: dict[str, object]
) -> ResellerPlansError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class ResellerPlansError(Exception):
    """The root of every error this library raises on purpose.

    Attributes:
        correlation_id: the correlation id of the command it was raised out of (the host's,
            from ``reseller_plans.correlate``, or the one minted for the call); None for an
            error raised outside a command (an adapter called directly, bad arguments refused
            before the command began).
    """

    correlation_id: str | None = None

    def __reduce__(self) -> tuple[object, ...]:
        # Errors carry keyword-only attributes; rebuild them from their state so they copy and
        # pickle (worker pools send them between processes).
        return (_rebuild, (type(self), self.args, self.__dict__))


class InvalidInput(ResellerPlansError, ValueError):
    """Input that breaks a rule; nothing was changed."""


class InvalidAlias(InvalidInput):
    """A Storefront Alias that breaks a rule.

    Attributes:
        alias: the text as given.
        rule: a stable name of the broken rule (``too_short``, ``reserved``, …).
        reason: the rule in words.
    """

    def __init__(self, alias: str, *, rule: str, reason: str) -> None:
        self.alias = alias
        self.rule = rule
        self.reason = reason
        super().__init__(f"invalid Storefront Alias {alias!r}: {reason}")


class NotEligible(ResellerPlansError):
    """The account may not be moved to the plan asked for. ``report`` lists every failure."""

    def __init__(self, report: EligibilityReport) -> None:
        self.report = report
        lines = "; ".join(f"{f.code.value}: {f.message}" for f in report.failures)
        text = f"account {report.account_id} is not eligible for the {report.plan.title} plan"
        super().__init__(f"{text}: {lines}" if lines else text)


class Forbidden(ResellerPlansError):
    """The actor may not do this to that object (or the backend refused the credentials)."""


class IllegalTransition(ResellerPlansError):
    """The action is not allowed in the subscription's current state.

    Attributes:
        state: the state the subscription was in.
        action: the action refused.
    """

    def __init__(self, state: str, action: str, reason: str = "") -> None:
        self.state = state
        self.action = action
        self.reason = reason
        text = f"cannot {action} a subscription that is {state}"
        super().__init__(f"{text}: {reason}" if reason else text)


class ChangePending(IllegalTransition):
    """A change is already scheduled; withdraw it or wait until it applies."""


class AliasTaken(ResellerPlansError):
    """The Storefront Alias belongs to another reseller (or is held for one)."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        super().__init__(f"the Storefront Alias {alias!r} is taken: choose another")


class IdempotencyConflict(ResellerPlansError):
    """An idempotency key was reused with other arguments."""


class NotFound(ResellerPlansError, LookupError):
    """No such account, subscription or object."""


class BackendError(ResellerPlansError):
    """An outside system failed.

    Attributes:
        status: the HTTP status (or SMTP reply code), if there was one.
        request_id: the backend's request id, if it sent one.
        body_excerpt: a short, redacted excerpt of the response body.
        retry_after: seconds the backend asked us to wait, if it said.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        body_excerpt: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.request_id = request_id
        self.body_excerpt = body_excerpt
        self.retry_after = retry_after
        super().__init__(message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status {self.status}")
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        if self.retry_after is not None:
            parts.append(f"retry after {self.retry_after:g}s")
        return " | ".join(parts)


class TransientBackendError(BackendError):
    """A failure worth retrying later: timeouts, connection errors, 429, 5xx, rate limits.

    Attributes:
        retries_exhausted: True when the layer that raised it has already spent its retries
            (the HTTP clients, under their deadline): a caller above it should not retry it at
            once, only later (a saga step then waits for ``retry`` or ``run_due``).
    """

    retries_exhausted: bool = False


class PermanentBackendError(BackendError):
    """A failure that retrying will not fix: a refused request, a bad recipient."""


class ConcurrentUpdate(TransientBackendError):
    """Another worker changed the subscription since it was read; read it again and retry."""


class SubscriptionBusy(ConcurrentUpdate):
    """Another driver (a command in another process, a ``run_due`` worker) holds the
    subscription's lease and is running its saga. Nothing was changed; try again shortly: a
    command waits ``busy_timeout`` before it raises this."""

    def __init__(self, subscription_id: str) -> None:
        super().__init__(
            f"subscription {subscription_id} is busy: another driver is running its saga; "
            "nothing was changed, try again shortly"
        )
        self.subscription_id = subscription_id


class OutcomeUnknown(TransientBackendError):
    """A write was sent but its answer could not be read, so it may have acted.

    Raised for a connection reset or a timeout after the request was sent, and for a success
    whose body is not what the write answers (not JSON, or the wrong shape). Retrying with the
    same idempotency key is safe; a saga counts the step as maybe done, so a compensation
    undoes it too.
    """
