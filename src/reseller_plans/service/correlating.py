"""The façade's correlation ids: each public call runs under the caller's correlation id, or
under a fresh one the façade mints, and an error raised out of it carries that id."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from reseller_plans.correlation import correlate, current_correlation_id
from reseller_plans.domain.errors import ResellerPlansError

__all__ = ["Correlating", "correlated"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


class Correlating(Protocol):
    """What mints a correlation id for a call made outside any ``correlate()`` block."""

    def _new_correlation_id(self) -> str: ...


_S = TypeVar("_S", bound=Correlating)


def correlated(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """The method under the caller's correlation id, or under a fresh one of the façade's
    (``new_correlation_id``) when the caller is in no ``correlate()`` block; an error raised
    out of it carries that id."""

    def under_correlation(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with correlate(current_correlation_id() or self._new_correlation_id()) as cid:
            try:
                return method(self, *args, **kwargs)
            except ResellerPlansError as exc:  # refused input too, before any command ran
                if exc.correlation_id is None:
                    exc.correlation_id = cid
                raise

    functools.update_wrapper(under_correlation, method)  # its name, docs and signature
    return under_correlation
