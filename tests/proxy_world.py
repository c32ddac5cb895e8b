"""The emulator behind the fault proxy, and the real adapters wired through it with short
timeouts and a fake clock for backoff (nothing here sleeps for a backoff or a Retry-After)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fault_proxy import FaultProxy
from reseller_plans.bss import BSSClient
from reseller_plans.http import RetryPolicy, Timeouts
from reseller_plans.storefront import StorefrontClient
from reseller_plans.testing.emulator import EmulatorServer, EmulatorState, serve_emulator

ATTEMPTS = 3
READ_TIMEOUT = 0.15


class FakeTime:
    """A monotonic clock that only the fake sleep moves: backoff and Retry-After cost nothing."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def policy(time: FakeTime) -> RetryPolicy:
    return RetryPolicy(max_attempts=ATTEMPTS, initial_backoff=0.5, jitter=0.25, deadline=30.0,
                       sleep=time.sleep, random=lambda: 0.5, monotonic=time.monotonic)  # fmt: skip


TIMEOUTS = Timeouts(connect=2.0, read=READ_TIMEOUT, write=2.0, pool=2.0)


def bss_client(url: str, time: FakeTime) -> BSSClient:
    return BSSClient(url, client_key="demo-client-key", client_secret="demo-client-secret",
                     username="api-user@disti.example", password="demo-password",
                     retry=policy(time), timeouts=TIMEOUTS)  # fmt: skip


def storefront_client(url: str, time: FakeTime) -> StorefrontClient:
    return StorefrontClient(url, api_key="demo-storefront-api-key", retry=policy(time),
                            timeouts=TIMEOUTS)  # fmt: skip


@dataclass
class World:
    server: EmulatorServer
    proxy: FaultProxy

    def reset(self) -> None:
        """A fresh demo platform and no faults."""
        self.server.emulator.reset()
        self.proxy.clear()


@contextmanager
def proxied_emulator() -> Iterator[World]:
    with serve_emulator(EmulatorState.demo()) as server:
        proxy = FaultProxy(server.port, hang=READ_TIMEOUT * 4)
        try:
            yield World(server, proxy)
        finally:
            proxy.close()
