"""One deadline for a whole adapter call: attempts, waits and reads, on a fake clock."""

from __future__ import annotations

import httpx
import pytest
import respx

from http_fakes import (
    BSS_URL,
    bss_router,
    either,
    json_response,
    twin,  # noqa: F401 - the fixture that runs each test on both twins
)
from proxy_world import FakeTime
from reseller_plans import StorefrontAlias, TransientBackendError
from reseller_plans.bss import AsyncBSSClient, BSSClient
from reseller_plans.http import RetryPolicy

pytestmark = pytest.mark.usefixtures("twin")


def _bss(router: respx.Router, time: FakeTime, *, deadline: float) -> BSSClient:
    async def sleep(seconds: float) -> None:
        time.sleep(seconds)

    retry = RetryPolicy(max_attempts=10, deadline=deadline, sleep=time.sleep, async_sleep=sleep,
                        random=lambda: 0.0, monotonic=time.monotonic)  # fmt: skip
    return either(BSSClient, AsyncBSSClient, base_url=BSS_URL,  # type: ignore[no-any-return]
                  client_key="k", client_secret="s", username="u", password="p",
                  retry=retry, transport=httpx.MockTransport(router.handler))  # fmt: skip


def test_no_wait_is_made_that_would_end_past_the_deadline() -> None:
    router = bss_router()
    route = router.get("/api/accounts/1").mock(
        return_value=json_response(503, {"message": "busy"}, **{"Retry-After": "10"})
    )
    time = FakeTime()
    try:
        _bss(router, time, deadline=25.0).get_account("1")
    except TransientBackendError as error:
        raised = error
    assert time.sleeps == [10.0, 10.0]  # a third wait would end at 30 s, past 25 s
    assert route.call_count == 3  # not the 10 attempts the policy allows
    assert raised.retries_exhausted
    assert "deadline" in str(raised)


def test_the_writes_of_one_order_share_one_deadline_and_each_timeout_is_cut_to_what_is_left() -> (
    None
):
    router = bss_router()
    time = FakeTime()
    read_timeouts: list[float] = []

    def slow(request: httpx.Request, body: dict[str, str]) -> httpx.Response:
        read_timeouts.append(request.extensions["timeout"]["read"])
        time.now += 12.0  # each write takes 12 s of the call's 30
        return json_response(201, body)

    router.post("/api/orders").mock(side_effect=lambda r: slow(r, {"id": "O-1"}))
    router.post("/api/orders/O-1/items").mock(side_effect=lambda r: slow(r, {"id": "I-1"}))
    router.post("/api/orders/O-1/checkout").mock(side_effect=lambda r: slow(r, {"id": "O-1"}))
    bss = _bss(router, time, deadline=30.0)
    bss.place_plan_order(account_id="1", product_id="P", alias=StorefrontAlias.parse("shop-one"),
                         billing_cycle="monthly", idempotency_key="k")  # fmt: skip
    assert read_timeouts == [30.0, 18.0, 6.0]  # one budget over the three writes
    assert bss.deadline == 30.0
