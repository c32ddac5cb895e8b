"""Who is acting: a distributor (in the BSS) or a reseller (in the Storefront).

Every command names its actor; the service authorizes it against the object acted on.
"""

from __future__ import annotations

import enum

import attrs

from reseller_plans.domain.errors import InvalidInput

__all__ = ["Actor", "ActorKind"]


class ActorKind(enum.Enum):
    """Which side of the platform acts."""

    DISTRIBUTOR = "distributor"
    RESELLER = "reseller"


def _actor_id(value: object) -> str:
    # Platform ids are numeric on the wire; accept ints, refuse empty text and None.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    raise InvalidInput(f"an actor needs a non-empty id, not {value!r}")


@attrs.frozen
class Actor:
    """The party issuing a command.

    Build one with :meth:`distributor` or :meth:`reseller`.
    """

    kind: ActorKind
    id: str = attrs.field(converter=_actor_id)

    @classmethod
    def distributor(cls, distributor_id: str | int) -> Actor:
        """A distributor acting in its BSS."""
        return cls(
            ActorKind.DISTRIBUTOR,
            str(distributor_id) if isinstance(distributor_id, int) else distributor_id,
        )

    @classmethod
    def reseller(cls, account_id: str | int) -> Actor:
        """A reseller acting on its own account in the Storefront."""
        return cls(
            ActorKind.RESELLER, str(account_id) if isinstance(account_id, int) else account_id
        )

    @property
    def is_distributor(self) -> bool:
        """True for a distributor, False for a reseller."""
        return self.kind is ActorKind.DISTRIBUTOR

    def __str__(self) -> str:
        return f"{self.kind.value} {self.id}"
