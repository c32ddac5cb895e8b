"""What recording a saga step's outcome changes, beyond the subscription: the effects.

:func:`reseller_plans.domain.saga.record` folds an outcome into the subscription and names the
events; :func:`settle` adds what else follows from it, so that a driver only commits what it is
given and decides nothing:

- **messages** to queue: the operation's own email once its ``QUEUE_EMAIL`` step is done, and a
  note to the distributor's staff whenever provisioning failed;
- **alias holds** in the store: a cancelled reseller keeps its Storefront Alias reserved for a
  hold period; a rolled-back activation gives it back to the pool.

Each message has a stable id (from the operation's id), so that committing the same outcome
twice queues it once.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from reseller_plans.domain.events import ActivationFailed, Event, ProvisioningFailed
from reseller_plans.domain.lifecycle import Context
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.saga import Outcome, OutcomeKind, SagaStep, record
from reseller_plans.domain.subscription import StepAction, Subscription, SubscriptionStatus

__all__ = [
    "AliasHoldChange",
    "Audience",
    "Effects",
    "QueuedMessage",
    "settle",
]


class Audience(enum.Enum):
    """Who a queued message goes to."""

    RESELLER = "reseller"
    """The reseller account's email."""
    STAFF = "staff"
    """The distributor's staff (provisioning failures)."""


@attrs.frozen
class QueuedMessage:
    """A message the outcome makes due.

    Attributes:
        id: its stable id, which becomes its Message-ID.
        kind: which message.
        audience: who receives it.
        reason: the failure's reason, for a staff note (empty otherwise).
    """

    id: str
    kind: MessageKind
    audience: Audience
    reason: str = ""


@attrs.frozen
class AliasHoldChange:
    """A change to the store's reservation of a Storefront Alias.

    Attributes:
        alias: the alias.
        account_id: the account it is (or was) reserved to.
        until: with ``release`` False, the end of the hold (None: held while live).
        release: give the alias back, if it is still reserved to ``account_id``.
    """

    alias: str
    account_id: str
    until: dt.datetime | None = None
    release: bool = False


@attrs.frozen
class Effects:
    """Everything an outcome changes, for a driver to commit as one unit of work.

    Attributes:
        subscription: the subscription after the outcome.
        events: the events to append to its history.
        messages: the messages to queue.
        holds: the alias reservations to write.
    """

    subscription: Subscription
    events: tuple[Event, ...]
    messages: tuple[QueuedMessage, ...] = ()
    holds: tuple[AliasHoldChange, ...] = ()


def settle(
    sub: Subscription,
    step: SagaStep,
    outcome: Outcome,
    ctx: Context,
    *,
    alias_hold: dt.timedelta,
) -> Effects:
    """Record ``outcome`` of ``step`` (see ``saga.record``) and name all its effects.

    Args:
        sub: the subscription the step ran for.
        step: the step that ran.
        outcome: how it went.
        ctx: the time of the outcome.
        alias_hold: how long a cancelled reseller's alias stays reserved to it.

    Returns:
        The new subscription, its events, the messages to queue and the alias holds to write.
        A stale outcome (the operation moved on) has no effects.
    """
    after, events = record(sub, step, outcome, ctx)
    op = sub.operation
    op_id = op.id if op else sub.id
    messages: list[QueuedMessage] = []
    if (
        step.action is StepAction.QUEUE_EMAIL
        and step.message is not None
        and outcome.kind is OutcomeKind.DONE
        and after is not sub
    ):
        messages.append(
            QueuedMessage(f"{op_id}:{step.message.value}", step.message, Audience.RESELLER)
        )
    for event in events:
        if isinstance(event, ProvisioningFailed | ActivationFailed):
            messages.append(
                QueuedMessage(
                    f"{op_id}:failed:{after.version}",
                    MessageKind.PROVISIONING_FAILED,
                    Audience.STAFF,
                    event.reason,
                )
            )
    return Effects(after, events, tuple(messages), _holds(sub, after, ctx.at, alias_hold))


def _holds(
    before: Subscription, after: Subscription, at: dt.datetime, alias_hold: dt.timedelta
) -> tuple[AliasHoldChange, ...]:
    if after.alias is None or not before.is_live or after.is_live:
        return ()
    if after.status is SubscriptionStatus.CANCELLED:
        return (AliasHoldChange(after.alias.value, after.account_id, at + alias_hold),)
    # An activation rolled back: the alias goes back to the pool.
    return (AliasHoldChange(after.alias.value, after.account_id, release=True),)
