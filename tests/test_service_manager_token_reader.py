"""The platform-token account reader, over real sockets: it reads the account with the platform's
token from a configured BSS host only; a forged ``X-CloudPlatform-BaseUri`` never makes the
service manager a proxy, the token goes nowhere else and is never logged; a cache keeps the
pre-check fast."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from reseller_plans.service_manager import (
    PlatformTokenAccountReader,
    ResultCode,
    ServiceManager,
    configured_bss_reader,
)
from service_manager_world import (
    API_KEY,
    APP_ID,
    CLOUDY_BITS,
    World,
    create_body,
    envelope,
    headers,
)

CANARY_TOKEN = "canary-platform-token-5f1e"


class RecordingBSS:
    """A loopback HTTP server that answers ``GET /api/accounts/<id>`` and records each request."""

    def __init__(self, *, status: int = 200) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.status = status
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.requests.append((self.path, dict(self.headers.items())))
                body = json.dumps(
                    {
                        "id": self.path.rsplit("/", 1)[-1],
                        "name": "Cloudy Bits (as the platform's BSS has it)",
                        "email": "admin@cloudy.example",
                        "resellingEnabled": True,
                        "billToAccount": {"id": "D-100"},
                    }
                ).encode()
                self.send_response(recorder.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> RecordingBSS:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def platform_bss() -> Iterator[RecordingBSS]:
    with RecordingBSS() as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[RecordingBSS]:
    """A host the distributor did not configure (where a forged header points)."""
    with RecordingBSS() as server:
        yield server


def wired(world: World, *hosts: str) -> PlatformTokenAccountReader:
    reader = PlatformTokenAccountReader(
        hosts=hosts,
        fallback=configured_bss_reader(world.plans.bss),
        distributor_id="D-100",
        clock=world.clock,
    )
    world.service_manager = ServiceManager(
        world.plans,
        credentials={APP_ID: API_KEY},
        distributor_id="D-100",
        directory=world.directory,
        account_reader=reader,
    )
    return reader


def synchronize(world: World, base_uri: str | None, **changes: str | None) -> dict[str, Any]:
    body = {"ID": CLOUDY_BITS, "Name": "Cloudy Bits"}
    call_headers = headers(
        X_CloudPlatform_Token=CANARY_TOKEN, X_CloudPlatform_BaseUri=base_uri, **changes
    )
    return envelope(world.handle("Accounts/Synchronize", body, request_headers=call_headers))


def test_an_authenticated_call_reads_the_account_with_the_token_from_the_configured_host(
    platform_bss: RecordingBSS,
) -> None:
    world = World()  # the configured BSS says Cloudy Bits is not a reseller
    reader = wired(world, platform_bss.url)

    answer = synchronize(world, platform_bss.url + "/")

    assert answer["Code"] == ResultCode.OK
    assert "it is marked as a reseller" in answer["Message"]  # what the platform's BSS says
    assert world.directory.accounts[CLOUDY_BITS].reselling_enabled is True
    [(path, sent)] = platform_bss.requests
    assert path == f"/api/accounts/{CLOUDY_BITS}"
    assert sent["Authorization"] == f"Bearer {CANARY_TOKEN}"
    assert sent["X-Api-Version"] == "3.0"
    assert reader.token_reads == 1
    reader.close()


@pytest.mark.parametrize(
    "forged",
    [
        "{elsewhere}",
        "{elsewhere}/api",
        "{configured}@{elsewhere_host}",
        "http://user:pass@{configured_host}",
        "{configured}?next={elsewhere}",
        "{configured}#{elsewhere}",
        "https://{configured_host}",
        "ftp://{configured_host}",
        "not a url",
    ],
)
def test_a_forged_base_uri_is_ignored_and_the_token_goes_nowhere(
    platform_bss: RecordingBSS, elsewhere: RecordingBSS, forged: str
) -> None:
    world = World()
    reader = wired(world, platform_bss.url)
    base_uri = forged.format(
        elsewhere=elsewhere.url,
        elsewhere_host=elsewhere.url.removeprefix("http://"),
        configured=platform_bss.url,
        configured_host=platform_bss.url.removeprefix("http://"),
    )

    answer = synchronize(world, base_uri)

    assert answer["Code"] == ResultCode.OK
    assert "not marked as a reseller" in answer["Message"]  # the configured BSS, the fallback
    assert elsewhere.requests == []
    assert platform_bss.requests == []
    assert reader.token_reads == 0


def test_an_unauthenticated_call_with_token_headers_reaches_no_host(
    platform_bss: RecordingBSS,
) -> None:
    world = World()
    wired(world, platform_bss.url)

    response = world.handle(
        "Accounts/Synchronize",
        {"ID": CLOUDY_BITS},
        request_headers=headers(
            X_CloudPlatform_APIKey="d3Jvbmc=",
            X_CloudPlatform_Token=CANARY_TOKEN,
            X_CloudPlatform_BaseUri=platform_bss.url,
        ),
    )

    assert response.status == 401
    assert platform_bss.requests == []


def test_the_cache_keeps_a_precheck_and_the_call_to_one_read_until_it_expires(
    platform_bss: RecordingBSS,
) -> None:
    world = World()
    reader = wired(world, platform_bss.url)

    for _ in range(3):
        synchronize(world, platform_bss.url)
    envelope(
        world.handle(
            "Accounts/Synchronize",
            {"ID": CLOUDY_BITS, "CheckOnly": True},
            request_headers=headers(
                X_CloudPlatform_Token=CANARY_TOKEN, X_CloudPlatform_BaseUri=platform_bss.url
            ),
        )
    )
    assert len(platform_bss.requests) == 1
    world.clock.advance(dt.timedelta(minutes=6))
    synchronize(world, platform_bss.url)
    assert len(platform_bss.requests) == 2
    reader.close()


def test_a_refused_token_falls_back_to_the_configured_bss() -> None:
    world = World()
    with RecordingBSS(status=401) as refusing:
        reader = wired(world, refusing.url)
        answer = synchronize(world, refusing.url)
    assert answer["Code"] == ResultCode.OK
    assert "not marked as a reseller" in answer["Message"]
    assert reader.token_reads == 0


def test_an_account_id_cannot_change_the_route(platform_bss: RecordingBSS) -> None:
    world = World()
    reader = wired(world, platform_bss.url)
    call_headers = headers(
        X_CloudPlatform_Token=CANARY_TOKEN, X_CloudPlatform_BaseUri=platform_bss.url
    )
    world.handle("Accounts/Synchronize", {"ID": "../../admin"}, request_headers=call_headers)
    [(path, _)] = platform_bss.requests
    assert path == "/api/accounts/..%2F..%2Fadmin"
    reader.close()


def test_the_token_is_never_logged_or_shown(
    platform_bss: RecordingBSS, elsewhere: RecordingBSS, caplog: pytest.LogCaptureFixture
) -> None:
    world = World()
    reader = wired(world, platform_bss.url)
    with caplog.at_level(logging.DEBUG):
        synchronize(world, platform_bss.url)
        synchronize(world, elsewhere.url)
        with RecordingBSS(status=401) as refusing:
            wired(world, refusing.url)
            synchronize(world, refusing.url)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "ignoring X-CloudPlatform-BaseUri" in text
    assert CANARY_TOKEN not in text
    assert CANARY_TOKEN not in repr(reader)
    reader.close()


def test_the_create_precheck_decides_on_the_account_the_platform_token_reads(
    platform_bss: RecordingBSS,
) -> None:
    world = World()  # the configured BSS says Cloudy Bits is not a reseller; the platform's does
    reader = wired(world, platform_bss.url)
    call_headers = headers(
        X_CloudPlatform_Token=CANARY_TOKEN, X_CloudPlatform_BaseUri=platform_bss.url
    )
    body = create_body(plan="Free", account=CLOUDY_BITS, alias="cloudybits", check_only=True)

    first = envelope(world.handle("Subscriptions/Create", body, request_headers=call_headers))
    again = envelope(world.handle("Subscriptions/Create", body, request_headers=call_headers))

    assert first["Code"] == again["Code"] == ResultCode.OK  # eligible, as the platform says
    assert reader.token_reads == 1  # the second pre-check came from the cache
    assert world.plans.subscription_of(CLOUDY_BITS) is None  # a pre-check writes nothing
    without_token = envelope(world.handle("Subscriptions/Create", body))
    assert without_token["Code"] == ResultCode.NOT_ELIGIBLE  # the configured BSS's answer
    reader.close()
