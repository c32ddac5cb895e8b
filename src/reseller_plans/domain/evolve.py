"""``evolve``: ``attrs.evolve`` for the domain's frozen values, made for the hot path.

A saga step replaces the subscription and its operation with copies that differ in a field or
two, tens of thousands of times in a simulation. ``attrs.evolve`` reads the class's fields and
calls ``__init__`` again each time; the domain's values have no validators nor converters to
run again, so a copy of their state is enough: one C call for a value with an attribute dict
(``Subscription``); for a slotted one (``Operation``), its fields read in one C call and passed
to ``__init__`` by position.
``test_evolve`` checks it against ``attrs.evolve``.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar

import attrs

__all__ = ["evolve"]

_T = TypeVar("_T")

_Copier = Callable[[Any, dict[str, Any]], Any]
_copiers: dict[type, _Copier] = {}


def _copier(cls: type) -> _Copier:
    names = frozenset(field.name for field in attrs.fields(cls))
    new = object.__new__

    def check(changes: dict[str, Any]) -> None:
        if not names.issuperset(changes):
            unknown = ", ".join(sorted(set(changes) - names))
            raise TypeError(f"{cls.__name__} has no field {unknown}")

    if "__dict__" in dir(cls):

        def copy_dict(value: Any, changes: dict[str, Any]) -> Any:
            check(changes)
            copy: Any = new(cls)
            state = copy.__dict__
            state.update(value.__dict__)
            state.update(changes)
            return copy

        return copy_dict
    order = [field.name for field in attrs.fields(cls)]
    position = {name: i for i, name in enumerate(order)}
    read = attrgetter(*order)
    one = len(order) == 1  # then attrgetter gives the value, not a tuple of it

    def copy_slots(value: Any, changes: dict[str, Any]) -> Any:
        check(changes)
        values = [read(value)] if one else list(read(value))  # every field in one C call
        for name, change in changes.items():
            values[position[name]] = change
        return cls(*values)  # attrs' generated __init__, positional: cheaper than evolve's

    return copy_slots


def evolve(value: _T, /, **changes: Any) -> _T:
    """A copy of the frozen attrs ``value`` with ``changes``, cheaper than ``attrs.evolve``.

    A value with an attribute dict is copied without running ``__init__``, so its class must
    have no validators nor converters (the domain's have none); a slotted one goes through it.

    Raises:
        TypeError: a change names no field of the class.
    """
    cls = type(value)
    copier = _copiers.get(cls)
    if copier is None:
        copier = _copiers[cls] = _copier(cls)
    copied: _T = copier(value, changes)
    return copied
