"""BackendClient: what is retried and how long it waits, idempotency keys, token refresh, the
mapping of failures into the domain error tree, JSON reads and logging."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import httpx
import pytest
import respx

from http_fakes import (
    AsyncAuth,
    Blocking,
    FakeClock,
    Sleeps,
    backoffs,
    current_twin,
    json_response,
    policy,
    twin,  # noqa: F401 - the fixture that runs each test on both twins
)
from reseller_plans import (
    Forbidden,
    NotFound,
    PermanentBackendError,
    ResellerPlansError,
    TransientBackendError,
)
from reseller_plans.http import (
    ApiKeyAuth,
    AsyncBackendClient,
    AuthenticationFailed,
    BackendClient,
    BackendForbidden,
    BackendNotFound,
    MalformedResponse,
    Payload,
    Timeouts,
    path_segment,
)

URL = "https://api.test"
pytestmark = pytest.mark.usefixtures("twin")


def client(
    router: respx.Router,
    sleeps: Sleeps,
    *,
    max_attempts: int = 3,
    auth: object = None,
    **kwargs: object,
) -> BackendClient:
    """The sync client, or a blocking view of the async twin (see ``http_fakes.twin``)."""
    if current_twin() == "async":
        return Blocking(  # type: ignore[return-value]
            AsyncBackendClient(
                URL,
                service="Test",
                retry=policy(sleeps, max_attempts=max_attempts),
                clock=FakeClock(),
                auth=None if auth is None else AsyncAuth(auth),
                transport=httpx.MockTransport(router.handler),
                **kwargs,  # type: ignore[arg-type]
            )
        )
    return BackendClient(
        URL,
        service="Test",
        retry=policy(sleeps, max_attempts=max_attempts),
        clock=FakeClock(),
        auth=auth,  # type: ignore[arg-type]
        transport=httpx.MockTransport(router.handler),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=URL, assert_all_called=False)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


# -- retries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_read_is_retried_on_retryable_statuses_with_backoff(
    router: respx.Router, sleeps: Sleeps, status: int
) -> None:
    route = router.get("/x").mock(
        side_effect=[json_response(status), json_response(status), json_response(200, {"a": 1})]
    )
    reply = client(router, sleeps).request("GET", "/x")
    assert reply.payload().integer("a") == 1
    assert route.call_count == 3
    assert sleeps == backoffs(2)


def test_exhausted_retries_raise_transient_with_status_and_attempts(
    router: respx.Router, sleeps: Sleeps
) -> None:
    route = router.get("/x").mock(
        return_value=json_response(503, {"message": "down"}, **{"X-Request-Id": "r-9"})
    )
    with pytest.raises(TransientBackendError) as caught:
        client(router, sleeps).request("GET", "/x")
    assert route.call_count == 3
    error = caught.value
    assert error.status == 503
    assert error.request_id == "r-9"
    assert "gave up after 3 attempts" in str(error)
    assert "down" in str(error)


def test_a_write_without_idempotency_key_is_not_retried(
    router: respx.Router, sleeps: Sleeps
) -> None:
    route = router.post("/orders").mock(return_value=json_response(503))
    with pytest.raises(TransientBackendError):
        client(router, sleeps).request("POST", "/orders", json_body={})
    assert route.call_count == 1
    assert sleeps == []


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_a_write_with_a_key_is_retried_with_the_same_key(
    router: respx.Router, sleeps: Sleeps, method: str
) -> None:
    route = router.route(method=method, path="/orders").mock(
        side_effect=[json_response(500), httpx.ReadTimeout("slow"), json_response(201, {"id": 1})]
    )
    client(router, sleeps).request(method, "/orders", json_body={}, idempotency_key="k-1")
    assert route.call_count == 3
    assert {c.request.headers["Idempotency-Key"] for c in route.calls} == {"k-1"}


def test_a_put_is_retried_without_key(router: respx.Router, sleeps: Sleeps) -> None:
    route = router.put("/a").mock(side_effect=[json_response(502), json_response(200)])
    client(router, sleeps).request("PUT", "/a", json_body={"x": 1})
    assert route.call_count == 2
    assert "Idempotency-Key" not in route.calls[0].request.headers


def test_retry_unsafe_retries_a_write_that_changes_nothing(
    router: respx.Router, sleeps: Sleeps
) -> None:
    route = router.post("/token").mock(side_effect=[json_response(503), json_response(200)])
    client(router, sleeps).request("POST", "/token", form={"a": "b"}, retry_unsafe=True)
    assert route.call_count == 2


def test_retry_after_seconds_is_honoured(router: respx.Router, sleeps: Sleeps) -> None:
    router.get("/x").mock(
        side_effect=[json_response(429, **{"Retry-After": "7"}), json_response(200)]
    )
    client(router, sleeps).request("GET", "/x")
    assert sleeps == [7.0]


def test_retry_after_http_date_is_honoured_by_the_injected_clock(
    router: respx.Router, sleeps: Sleeps
) -> None:
    router.get("/x").mock(
        side_effect=[
            json_response(503, **{"Retry-After": "Mon, 05 Jan 2026 09:00:12 GMT"}),
            json_response(200),
        ]
    )
    client(router, sleeps).request("GET", "/x")
    assert sleeps == [12.0]


def test_retry_after_beyond_the_cap_fails_at_once_with_retry_after(
    router: respx.Router, sleeps: Sleeps
) -> None:
    route = router.get("/x").mock(return_value=json_response(429, **{"Retry-After": "120"}))
    with pytest.raises(TransientBackendError) as caught:
        client(router, sleeps).request("GET", "/x")
    assert route.call_count == 1
    assert sleeps == []
    assert caught.value.retry_after == 120.0
    assert "retry after 120s" in str(caught.value)


def test_a_rate_limit_403_is_retried_and_a_refusal_is_not(
    router: respx.Router, sleeps: Sleeps
) -> None:
    limited = router.get("/limited").mock(
        side_effect=[json_response(403, {"message": "Rate limit hit"}), json_response(200)]
    )
    refused = router.get("/refused").mock(
        return_value=json_response(403, {"message": "Not yours"}, **{"Request-Id": "q-1"})
    )
    backend = client(router, sleeps)
    backend.request("GET", "/limited")
    assert limited.call_count == 2
    with pytest.raises(Forbidden) as caught:
        backend.request("GET", "/refused")
    assert refused.call_count == 1
    error = caught.value
    assert isinstance(error, BackendForbidden)
    assert isinstance(error, PermanentBackendError)
    assert (error.status, error.request_id) == (403, "q-1")
    assert "Not yours" in str(error)
    assert error.api_user_plan is False


def test_a_403_on_a_write_can_say_the_api_users_plan_only_reads(
    router: respx.Router, sleeps: Sleeps
) -> None:
    router.post("/orders").mock(return_value=json_response(403, {"message": "nope"}))
    router.get("/orders").mock(return_value=json_response(403, {"message": "nope"}))
    backend = client(router, sleeps, api_user_plan_detector=lambda headers, body: True)
    with pytest.raises(BackendForbidden) as caught:
        backend.request("POST", "/orders", json_body={})
    assert caught.value.api_user_plan
    assert "the plan of this API user does not allow this" in str(caught.value)
    with pytest.raises(BackendForbidden) as read:
        backend.request("GET", "/orders")
    assert not read.value.api_user_plan


@pytest.mark.parametrize("header", ["X-Request-Id", "Request-Id", "X-Correlation-Id"])
def test_404_is_not_found_with_the_request_id(
    router: respx.Router, sleeps: Sleeps, header: str
) -> None:
    router.get("/gone").mock(
        return_value=json_response(404, {"title": "No such"}, **{header: "id-7"})
    )
    with pytest.raises(NotFound) as caught:
        client(router, sleeps).request("GET", "/gone")
    assert isinstance(caught.value, BackendNotFound)
    assert caught.value.request_id == "id-7"
    assert "No such" in str(caught.value)


@pytest.mark.parametrize("member", ["message", "Message", "error_description", "title"])
def test_400_is_permanent_and_names_the_backends_message(
    router: respx.Router, sleeps: Sleeps, member: str
) -> None:
    route = router.get("/bad").mock(return_value=json_response(400, {member: "pageSize invalid"}))
    with pytest.raises(PermanentBackendError) as caught:
        client(router, sleeps).request("GET", "/bad")
    assert route.call_count == 1
    assert type(caught.value) is PermanentBackendError
    assert "pageSize invalid" in str(caught.value)
    assert caught.value.status == 400


def test_body_excerpt_is_short_and_redacted(router: respx.Router, sleeps: Sleeps) -> None:
    body = '{"password": "hunter22", "detail": "' + "x" * 500 + '"}'
    router.get("/bad").mock(
        return_value=httpx.Response(422, text=body, headers={"Content-Type": "application/json"})
    )
    with pytest.raises(PermanentBackendError) as caught:
        client(router, sleeps).request("GET", "/bad")
    excerpt = caught.value.body_excerpt
    assert excerpt is not None
    assert len(excerpt) <= 200
    assert "hunter22" not in excerpt


def test_a_plain_text_error_body_is_kept_as_excerpt(router: respx.Router, sleeps: Sleeps) -> None:
    router.get("/bad").mock(return_value=httpx.Response(409, text="Conflict: try later"))
    with pytest.raises(PermanentBackendError) as caught:
        client(router, sleeps).request("GET", "/bad")
    assert caught.value.body_excerpt == "Conflict: try later"


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadError("reset by peer"), httpx.ReadTimeout("slow"),
     httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy"), httpx.RemoteProtocolError("eof")],
)  # fmt: skip
def test_transport_failures_are_retried_then_transient(
    router: respx.Router, sleeps: Sleeps, failure: Exception
) -> None:
    route = router.get("/x").mock(side_effect=failure)
    with pytest.raises(TransientBackendError) as caught:
        client(router, sleeps).request("GET", "/x")
    assert route.call_count == 3
    assert caught.value.status is None
    assert not isinstance(caught.value, httpx.HTTPError)


@pytest.mark.parametrize(
    "failure", [httpx.UnsupportedProtocol("ftp"), httpx.DecodingError("gzip"),
                httpx.InvalidURL("bad")],
)  # fmt: skip
def test_failures_that_retrying_cannot_fix_are_permanent(
    router: respx.Router, sleeps: Sleeps, failure: Exception
) -> None:
    route = router.get("/x").mock(side_effect=failure)
    with pytest.raises(PermanentBackendError):
        client(router, sleeps).request("GET", "/x")
    assert route.call_count == 1


def test_accepted_statuses_are_returned_not_raised(router: respx.Router, sleeps: Sleeps) -> None:
    router.get("/probe").mock(return_value=json_response(404))
    assert client(router, sleeps).request("GET", "/probe", accept=(404,)).status == 404


# -- authentication -----------------------------------------------------------------------------


class RecordingAuth:
    def __init__(self) -> None:
        self.token = "t1"
        self.refreshes = 0

    def auth_headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def refresh(self, used: Mapping[str, str]) -> bool:
        self.refreshes += 1
        self.token = f"t{self.refreshes + 1}"
        return True


def test_a_401_refreshes_once_and_replays(router: respx.Router, sleeps: Sleeps) -> None:
    auth = RecordingAuth()
    route = router.post("/w").mock(side_effect=[json_response(401), json_response(200)])
    client(router, sleeps, auth=auth).request("POST", "/w", json_body={})
    assert auth.refreshes == 1
    assert [c.request.headers["Authorization"] for c in route.calls] == ["Bearer t1", "Bearer t2"]
    assert sleeps == []


def test_a_second_401_is_authentication_failed(router: respx.Router, sleeps: Sleeps) -> None:
    auth = RecordingAuth()
    route = router.get("/r").mock(return_value=json_response(401, {"message": "expired"}))
    with pytest.raises(AuthenticationFailed) as caught:
        client(router, sleeps, auth=auth).request("GET", "/r")
    assert auth.refreshes == 1
    assert route.call_count == 2
    assert caught.value.status == 401


def test_an_api_key_is_not_refreshed(router: respx.Router, sleeps: Sleeps) -> None:
    route = router.get("/r").mock(return_value=json_response(401))
    with pytest.raises(AuthenticationFailed):
        client(router, sleeps, auth=ApiKeyAuth("k-123456")).request("GET", "/r")
    assert route.call_count == 1
    assert route.calls[0].request.headers["X-ApiKey"] == "k-123456"
    assert "k-123456" not in repr(ApiKeyAuth("k-123456"))


def test_unauthenticated_requests_carry_no_credentials(
    router: respx.Router, sleeps: Sleeps
) -> None:
    route = router.get("/open").mock(return_value=json_response(200))
    client(router, sleeps, auth=RecordingAuth()).request("GET", "/open", authenticate=False)
    assert "Authorization" not in route.calls[0].request.headers


# -- JSON reads ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>oops</html>", headers={"Content-Type": "text/html"}),
        httpx.Response(200, text="", headers={"Content-Type": "application/json"}),
        httpx.Response(200, text="{not json", headers={"Content-Type": "application/json"}),
        httpx.Response(200, text="[1, 2]", headers={"Content-Type": "application/json"}),
        httpx.Response(200, content=b"{}"),
    ],
    ids=["html", "empty", "invalid", "not-an-object", "no-content-type"],
)
def test_unreadable_bodies_are_malformed_response(
    router: respx.Router, sleeps: Sleeps, response: httpx.Response
) -> None:
    router.get("/x").mock(return_value=response)
    with pytest.raises(MalformedResponse) as caught:
        client(router, sleeps).get_payload("/x")
    assert caught.value.status == 200


def test_vendor_json_content_types_are_json(router: respx.Router, sleeps: Sleeps) -> None:
    router.get("/x").mock(
        return_value=httpx.Response(
            200, text='{"a": "b"}', headers={"Content-Type": "application/problem+json; q=1"}
        )
    )
    assert client(router, sleeps).get_payload("/x").text("a") == "b"


def test_payload_reads_are_typed_and_name_what_is_wrong() -> None:
    payload = Payload(
        {"s": "x", "n": 3, "f": 1.5, "b": True, "bs": "false", "o": {"id": 1}, "l": [{"a": 1}],
         "ss": ["a"], "null": None, "bad_list": [1]},
        "ctx",
    )  # fmt: skip
    assert payload.text("missing", "s") == "x"
    assert payload.text("n") == "3"
    assert payload.text("missing", default="d") == "d"
    assert payload.optional_text("null") is None
    assert payload.integer("n") == 3
    assert payload.number("f") == 1.5
    assert payload.flag("b") is True
    assert payload.flag("bs") is False
    assert payload.flag("missing", default=True) is True
    assert payload.obj("o") is not None
    assert payload.obj("missing", required=False) is None
    assert [p.integer("a") for p in payload.items("l")] == [1]
    assert payload.items("missing", required=False) == []
    assert payload.strings("ss") == ["a"]
    assert payload.strings("missing") == []
    assert payload.raw["n"] == 3
    for read in (
        lambda: payload.text("o"), lambda: payload.text("missing"), lambda: payload.integer("s"),
        lambda: payload.integer("missing"), lambda: payload.number("s"),
        lambda: payload.number("missing"), lambda: payload.flag("s"),
        lambda: payload.flag("missing"), lambda: payload.obj("s"), lambda: payload.obj("missing"),
        lambda: payload.items("s"), lambda: payload.items("missing"),
        lambda: payload.items("bad_list"), lambda: payload.strings("l"),
    ):  # fmt: skip
        with pytest.raises(MalformedResponse, match="ctx"):
            read()


# -- URLs, lifecycle, logging -------------------------------------------------------------------


def test_links_to_another_origin_are_refused(router: respx.Router, sleeps: Sleeps) -> None:
    backend = client(router, sleeps)
    assert backend.url_for("/a") == f"{URL}/a"
    assert backend.url_for("a") == f"{URL}/a"
    assert backend.url_for(f"{URL}/a?b=1") == f"{URL}/a?b=1"
    with pytest.raises(MalformedResponse, match="another origin"):
        backend.url_for("https://evil.test/a")
    with pytest.raises(ResellerPlansError):
        backend.request("GET", "http://api.test:8080/a")


def test_base_url_must_be_http(sleeps: Sleeps) -> None:
    with pytest.raises(ValueError, match="http"):
        BackendClient("ftp://x.test")
    with pytest.raises(ValueError, match="http"):
        BackendClient("not a url")


def test_path_segments_cannot_change_the_route() -> None:
    assert path_segment("a/../b c") == "a%2F..%2Fb%20c"


def test_timeouts_reach_httpx() -> None:
    timeout = Timeouts(connect=1, read=2, write=3, pool=4).to_httpx()
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (1, 2, 3, 4)


def test_close_closes_our_client_but_not_an_injected_one() -> None:
    ours = BackendClient(URL)
    assert "api.test" in repr(ours)
    with ours:
        assert not ours.closed
    assert ours.closed
    injected = httpx.Client()
    theirs = BackendClient(URL, http_client=injected)
    theirs.close()
    assert not injected.is_closed
    injected.close()


def test_requests_are_logged_at_debug_with_method_path_status_attempt_duration(
    router: respx.Router, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    router.get("/x").mock(side_effect=[json_response(503), httpx.ConnectError("no"),
                                       json_response(200)])  # fmt: skip
    caplog.set_level(logging.DEBUG, logger="reseller_plans")
    client(router, sleeps).request("GET", "/x", params={"q": "1"})
    lines = [r.getMessage() for r in caplog.records if r.name == "reseller_plans.http"]
    assert any(line.startswith("Test GET /x -> 503 (attempt 1, ") for line in lines)
    assert any("Test GET /x -> connection failed (ConnectError) (attempt 2, " in li for li in lines)
    assert any(line.startswith("Test GET /x -> 200 (attempt 3, ") for line in lines)
    assert any("retrying in 0.44 s after attempt 1" in line for line in lines)
    assert all(" ms)" in li for li in lines if "->" in li)
