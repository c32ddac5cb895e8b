"""What ``run_due`` reports: the counts, the due work that failed, and the repairs made."""

from __future__ import annotations

import datetime as dt

import attrs

from reseller_plans.domain.subscription import StepAction

__all__ = ["DueFailure", "DueReport", "Repaired"]


@attrs.frozen
class DueFailure:
    """Due work that raised: the subscription is backed off until ``retry_at``."""

    subscription_id: str
    error: str
    retry_at: dt.datetime


@attrs.frozen
class DueReport:
    """What one ``run_due`` did.

    Attributes:
        subscriptions: due subscriptions worked on.
        renewals: terms renewed.
        emails_sent: messages the mailer accepted.
        emails_failed: messages it tried and did not send (the mail server failed for now:
            left for later; or refused them for good). Messages another sender was sending, or
            had sent meanwhile, are not counted.
        aliases_released: alias holds whose period ended, given back.
        busy: due subscriptions skipped because another driver held them.
        failures: due work that raised, each backed off and left for a later run, and
            reconciliations that raised (their ``error`` starts ``"reconciliation: "``), each
            tried again a minute later.
        reconciled: reconciliations made: each read the account's storefront and license
            (see the workers guide, "Reconciliation").
        repaired: those of them that found something to undo, and what they undid: a
            storefront or license live for an account whose subscription is not.
        emails_refused: of ``emails_failed``, those the mail server refused for good in this
            run (each a ``MessageFailed`` event).
        messages_failed: every message of the outbox refused for good and not resent since,
            whenever it was refused (in this run, in a command, earlier): until someone
            resends them (``ResellerPlans.resend``, ``reseller-plans resend``), each run
            says so.
        webhooks_delivered: webhook deliveries the endpoints answered 2xx (0 without
            webhooks).
        webhooks_retrying: webhook attempts that failed and will be made again after their
            backoff.
        webhooks_dead: webhook deliveries that became dead letters in this run (their budget
            spent, or the endpoint answered 410 Gone).
        webhook_dead_letters: every dead letter waiting for an operator (``redrive_webhook``
            or ``skip_webhook``), whenever it died: until someone acts, each run says so.
    """

    subscriptions: int = 0
    renewals: int = 0
    emails_sent: int = 0
    emails_failed: int = 0
    aliases_released: int = 0
    busy: int = 0
    failures: tuple[DueFailure, ...] = ()
    reconciled: int = 0
    repaired: tuple[Repaired, ...] = ()
    emails_refused: int = 0
    messages_failed: int = 0
    webhooks_delivered: int = 0
    webhooks_retrying: int = 0
    webhooks_dead: int = 0
    webhook_dead_letters: int = 0


@attrs.frozen
class Repaired:
    """What one reconciliation undid on an account.

    Attributes:
        subscription_id: the subscription whose request it was.
        account_id: the reseller account.
        repairs: the calls made (``DEACTIVATE_STOREFRONT``, ``SUSPEND_STOREFRONT``,
            ``REVOKE_LICENSE``), in order.
    """

    subscription_id: str
    account_id: str
    repairs: tuple[StepAction, ...]
