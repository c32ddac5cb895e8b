"""``DomainEnum``: the base of the domain's enumerations.

It differs from ``enum.Enum`` in one way: members hash by identity. ``Enum.__hash__`` hashes the
member's name in Python code, and the state machine looks members up in tables on every
transition; members are singletons compared by identity, so the identity hash is equally correct
and several times cheaper.
"""

from __future__ import annotations

import enum

__all__ = ["DomainEnum"]


class DomainEnum(enum.Enum):
    """An ``enum.Enum`` whose members hash by identity."""

    __hash__ = object.__hash__
