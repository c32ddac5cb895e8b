"""Who is acting: a distributor (in the BSS) or a reseller (in the Storefront).

Every command names its actor; the service authorizes it against the object acted on.
"""

from __future__ import annotations

import enum

import attrs

__all__ = ["Actor", "ActorKind"]


class ActorKind(enum.Enum):
    DISTRIBUTOR = "distributor"
    RESELLER = "reseller"


@attrs.frozen
class Actor:
    """The party issuing a command.

    Build one with :meth:`distributor` or :meth:`reseller`.
    """

    kind: ActorKind
    id: str = attrs.field(validator=attrs.validators.min_len(1))

    @classmethod
    def distributor(cls, distributor_id: str) -> Actor:
        """A distributor acting in its BSS."""
        return cls(ActorKind.DISTRIBUTOR, str(distributor_id))

    @classmethod
    def reseller(cls, account_id: str) -> Actor:
        """A reseller acting on its own account in the Storefront."""
        return cls(ActorKind.RESELLER, str(account_id))

    @property
    def is_distributor(self) -> bool:
        return self.kind is ActorKind.DISTRIBUTOR

    def __str__(self) -> str:
        return f"{self.kind.value} {self.id}"
