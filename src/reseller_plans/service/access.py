"""Who may do what, and repeat-safe commands: authorization and idempotency.

Authorization is object-level and checked before any write: a reseller acts only on its own
account and subscription; a distributor only on its own resellers; suspend, resume and retry are
distributor actions.

Idempotency keys belong to the actor that sent them (:class:`KeyScope`), and a key remembers the
request it was first sent with (:class:`Request`): the same key with the same request replays
the first result; with another request it is refused.
"""

from __future__ import annotations

import attrs

from reseller_plans.domain.actors import Actor
from reseller_plans.domain.errors import Forbidden, IdempotencyConflict
from reseller_plans.domain.subscription import Subscription
from reseller_plans.ports import IdempotencyRecord

__all__ = [
    "KeyScope",
    "Request",
    "authorize_account",
    "authorize_distributor",
    "authorize_reseller_of",
    "authorize_subscription",
    "replayed",
]


@attrs.frozen
class KeyScope:
    """Whose idempotency key it is: keys of two actors never collide."""

    actor: Actor

    @property
    def value(self) -> str:
        """The scope as the store keeps it (``"distributor:D-100"``)."""
        return f"{self.actor.kind.value}:{self.actor.id}"


@attrs.frozen
class Request:
    """A command and its arguments, as an idempotency key remembers them.

    Attributes:
        command: the command's name (``"upgrade"``, ``"cancel"``, ...).
        arguments: its arguments, in a fixed order, as text.
    """

    command: str
    arguments: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        """The request as the store keeps it."""
        return "|".join((self.command, *self.arguments))

    @classmethod
    def of(cls, command: str, *arguments: object) -> Request:
        """The request ``command`` with ``arguments``, each as an f-string shows it."""
        return cls(command, tuple(format(a) for a in arguments))


def authorize_account(actor: Actor, account_id: str) -> None:
    """A reseller acts only on its own account (a distributor's is checked on the account)."""
    if not actor.is_distributor and actor.id != account_id:
        raise Forbidden(f"{actor} may act only on its own account, not {account_id}")


def authorize_reseller_of(actor: Actor, account_distributor_id: str, account_id: str) -> None:
    """A distributor acts only on its own resellers' accounts."""
    if actor.is_distributor and account_distributor_id != actor.id:
        raise Forbidden(f"account {account_id} is not a reseller of distributor {actor.id}")


def authorize_distributor(actor: Actor) -> None:
    """Only a distributor may do this."""
    if not actor.is_distributor:
        raise Forbidden(f"{actor} may not do this: it is a distributor action")


def authorize_subscription(
    actor: Actor, sub: Subscription, *, distributor_only: bool = False
) -> None:
    """The actor may act on the subscription: its reseller, or the reseller's distributor."""
    if actor.is_distributor:
        if sub.distributor_id != actor.id:
            raise Forbidden(f"subscription {sub.id} is not of a reseller of {actor}")
        return
    if distributor_only:
        authorize_distributor(actor)
    if sub.account_id != actor.id:
        raise Forbidden(f"subscription {sub.id} is not {actor}'s")


def replayed(record: IdempotencyRecord | None, key: str | None, request: Request) -> str | None:
    """The subscription a repeated request is about, or None for a first request.

    Raises:
        IdempotencyConflict: the key was first sent with another request.
    """
    if record is None or key is None:
        return None
    if record.fingerprint != request.fingerprint:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was first used for another request ({record.fingerprint})"
        )
    return record.subscription_id
