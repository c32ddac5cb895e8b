"""Scriptable faults for the in-memory ports: fail, slow down or crash any operation.

Every fake port asks its ``Faults`` before each operation
(``faults.before("bss.place_plan_order")``).
A script can fail the next N calls or the Nth call, transiently or permanently, add latency in
fake time, or **crash**: raise ``SimulatedCrash``, which is not an ``Exception`` and so escapes
every handler of the library, like the process dying between two steps.
"""

from __future__ import annotations

import datetime as dt
import enum
import fnmatch
from collections import Counter
from collections.abc import Callable

import attrs

from reseller_plans.domain.errors import PermanentBackendError, TransientBackendError

__all__ = ["FaultKind", "FaultRule", "Faults", "SimulatedCrash"]


class SimulatedCrash(BaseException):
    """The process "died" at this point. Deliberately a ``BaseException``."""


class FaultKind(enum.Enum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    CRASH = "crash"
    LATENCY = "latency"


@attrs.define
class FaultRule:
    """One scripted fault.

    Attributes:
        operation: the operation name, or a glob (``"bss.*"``).
        kind: what happens.
        remaining: how many more calls it applies to (None: every matching call).
        on_call: apply only on this call number of the operation (1-based), if set.
        latency: with ``LATENCY``, how long the call takes in fake time.
    """

    operation: str
    kind: FaultKind
    remaining: int | None = 1
    on_call: int | None = None
    latency: dt.timedelta = dt.timedelta(0)

    def matches(self, operation: str, call_number: int) -> bool:
        if not fnmatch.fnmatchcase(operation, self.operation):
            return False
        if self.on_call is not None and call_number != self.on_call:
            return False
        return self.remaining is None or self.remaining > 0


class Faults:
    """The fault script shared by the fakes of one world.

    Args:
        advance_clock: called with a latency to move fake time forward.
    """

    def __init__(self, advance_clock: Callable[[dt.timedelta], None] | None = None) -> None:
        self.rules: list[FaultRule] = []
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self._advance = advance_clock

    def fail(
        self,
        operation: str,
        *,
        times: int | None = 1,
        on_call: int | None = None,
        permanent: bool = False,
    ) -> FaultRule:
        """Fail the next ``times`` calls (or only call number ``on_call``) of ``operation``."""
        kind = FaultKind.PERMANENT if permanent else FaultKind.TRANSIENT
        return self._add(FaultRule(operation, kind, times, on_call))

    def crash(self, operation: str, *, on_call: int | None = None) -> FaultRule:
        """Crash the process at the next call (or call number ``on_call``) of ``operation``."""
        return self._add(FaultRule(operation, FaultKind.CRASH, 1, on_call))

    def slow(self, operation: str, latency: dt.timedelta, *, times: int | None = None) -> FaultRule:
        """Make calls of ``operation`` take ``latency`` of fake time."""
        return self._add(FaultRule(operation, FaultKind.LATENCY, times, latency=latency))

    def clear(self) -> None:
        """Remove every rule (the call counts stay)."""
        self.rules.clear()

    def _add(self, rule: FaultRule) -> FaultRule:
        self.rules.append(rule)
        return rule

    def before(self, operation: str) -> None:
        """Called by a fake before it performs ``operation``; raises what the script says."""
        self.calls[operation] += 1
        number = self.calls[operation]
        for rule in self.rules:
            if not rule.matches(operation, number):
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
            self.injected[rule.kind.value] += 1
            if rule.kind is FaultKind.LATENCY:
                if self._advance is not None:
                    self._advance(rule.latency)
                continue
            if rule.kind is FaultKind.CRASH:
                raise SimulatedCrash(f"simulated crash at {operation} (call {number})")
            if rule.kind is FaultKind.PERMANENT:
                raise PermanentBackendError(
                    f"injected permanent failure of {operation}", status=400
                )
            raise TransientBackendError(f"injected transient failure of {operation}", status=503)
