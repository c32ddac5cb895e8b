"""Bulk upgrades over HTTP against the emulator, side by side with a bare-httpx script.

The bar (DESIGN.md, "Quality bars"): 1,000 resellers upgraded to Standard against the emulator;

(a) with 50 ms of latency added per call, both sides at concurrency 32: our throughput is at least
    0.8 of the bare script's;
(b) with no added latency: our client CPU time per upgrade is at most 1.25 times the bare
    script's.

How it stays fair:

- The emulator runs in a **separate process** (``python -m reseller_plans.testing.emulator``), a
  fresh one on a free loopback port for every measured run, so every run starts from the same
  state and ``time.process_time()`` of this process counts only the client.
- **The same HTTP calls.** Before measuring, a bulk run of three upgrades (one at a time) goes
  through our stack on a scratch emulator with a recording transport, and the requests of each
  upgrade are turned into a template: method, path, query, headers (``Authorization``,
  ``X-Api-Version``, ``X-ApiKey``, ``Idempotency-Key``, ``Content-Type``, ``Accept``,
  ``User-Agent``), body and expected status, with the account id, alias, bearer token,
  idempotency keys (fresh uuids per upgrade, in the same shape) and the order id returned by
  ``POST /api/orders`` as placeholders. The later upgrades' template is what each upgrade sends;
  what only the first one sends (reads made once per run; none today) is a prologue the bare
  script sends once. The bare script replays exactly that, and recorded bare upgrades are
  checked to match the template before anything is measured. ``--show-calls`` prints it.
- **The same way.** Our side: ``BulkUpgrade(ResellerPlans(BSSClient, StorefrontClient,
  InMemoryMailer, store), Actor.distributor("100"), concurrency=C).run(rows)``. The bare side: one
  shared ``httpx.Client`` (default settings but for a pool sized like ours, see ``POOL``; the
  token fetched once) in a ``ThreadPoolExecutor`` of the same size; it checks each status and
  parses JSON only where it needs a value (the order id): the least a script can do.
- Each side is measured ``--repeats`` times, alternating which goes first; medians are printed.
  The store is ``SQLiteStore`` in a temporary file by default (the embedded default;
  ``--store memory`` for ``InMemoryStore``).

Both settings run at ``--concurrency`` (32 by default). At 32 threads both sides pay several ms of
GIL and pool contention per upgrade, which dilutes our own overhead in the ratio of (b);
``--only b --concurrency 1`` gives the sequential figure, where it does not. On a shared machine
the client CPU of one run varies by +-20 %: compare medians of several repeats.

Nothing here asserts a time: it prints. ``--resellers 20 --repeats 1`` is the fast mode::

    python benchmarks/bench_bulk_upgrade.py                      # 1,000 resellers, 3 repeats
    python benchmarks/bench_bulk_upgrade.py --resellers 20 --repeats 1
    python benchmarks/bench_bulk_upgrade.py --only b --concurrency 1 --repeats 5
    python benchmarks/bench_bulk_upgrade.py --probe-models       # sync threads vs AsyncClient
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import httpx

from reseller_plans import Actor, Plan
from reseller_plans.bss import BSSClient
from reseller_plans.bulk import BulkUpgrade, UpgradeRow
from reseller_plans.ports import Store
from reseller_plans.service import ResellerPlans
from reseller_plans.storefront import StorefrontClient
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.stores.sqlite import SQLiteStore
from reseller_plans.testing.fakes import InMemoryMailer

DISTRIBUTOR = "100"
FIRST_ACCOUNT = 10001  # EmulatorState.demo(extra_resellers=N) adds 10001 .. 10000 + N
CLIENT_KEY = "demo-client-key"
CLIENT_SECRET = "demo-client-secret"  # noqa: S105 - the emulator's demo credentials
USERNAME = "api-user@disti.example"
PASSWORD = "demo-password"  # noqa: S105
STOREFRONT_KEY = "demo-storefront-api-key"
TARGET = Plan.STANDARD

# The bare script's pool is sized like ours (BackendClient): with httpx's default of 20 keep-alive
# connections for 32 threads, httpcore 1.0.9's sync pool can close a connection it has just handed
# to a waiting thread (encode/httpcore#1110) and the run dies with "Bad file descriptor".
POOL = httpx.Limits(max_connections=100, max_keepalive_connections=100)
EMULATOR_START_TIMEOUT = 30.0
# Headers httpx sets by itself from the request (or the connection); not part of a template.
TRANSPORT_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection"})


def alias_of(account: int) -> str:
    return f"shop{account}"


# -- the emulator in its own process ---------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds_of(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux ``/proc``), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@attrs.define
class Emulator:
    url: str
    process: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float | None:
        return cpu_seconds_of(self.process.pid)


@contextlib.contextmanager
def emulator(resellers: int, latency: float) -> Iterator[Emulator]:
    """A fresh emulator process on a free loopback port; killed on leaving the block."""
    for _attempt in range(3):  # the free port may be taken between probing and binding
        port = free_port()
        with tempfile.TemporaryFile() as errors:
            command = [
                sys.executable, "-m", "reseller_plans.testing.emulator", "--host", "127.0.0.1",
                "--port", str(port), "--resellers", str(resellers), "--latency", str(latency),
            ]  # fmt: skip
            process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                command, stdout=subprocess.DEVNULL, stderr=errors
            )
            try:
                if _wait_until_listening(process, port):
                    yield Emulator(f"http://127.0.0.1:{port}", process)
                    return
            finally:
                _stop(process)
            errors.seek(0)
            problem = errors.read().decode(errors="replace")
        if "address already in use" not in problem.lower():
            raise RuntimeError(f"the emulator did not start:\n{problem}")
    raise RuntimeError("the emulator did not start: no free port")


def _wait_until_listening(process: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + EMULATOR_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# -- recording what one upgrade sends ------------------------------------------------------


@attrs.frozen
class Recorded:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    status: int
    response: bytes


class RecordingTransport(httpx.BaseTransport):
    """Passes requests to the network and keeps each request and its response."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.log: list[Recorded] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        response = self.inner.handle_request(request)
        content = response.read()
        headers = tuple(
            (k.lower(), v) for k, v in request.headers.items() if k.lower() not in TRANSPORT_HEADERS
        )
        with self._lock:
            self.log.append(
                Recorded(request.method, str(request.url), headers, body, response.status_code,
                         content)
            )  # fmt: skip
        return response

    def close(self) -> None:
        self.inner.close()


@attrs.frozen
class Step:
    """One request of the template; text fields hold ``{{name}}`` placeholders."""

    method: str
    path: str  # with the query, if any
    headers: tuple[tuple[str, str], ...]
    body: str
    status: int
    returns: str | None  # the placeholder this response's "id" binds (the order id), if any


_TOKEN = re.compile(r"(?<=Bearer )[A-Za-z0-9._~+/=-]+")
_HEX_KEY = re.compile(r"[0-9a-f]{32}")


def template_of(calls: Sequence[Recorded], base_url: str, account: int) -> list[Step]:
    """The requests of one upgrade with their variable parts as placeholders.

    Raises:
        ValueError: a call to another origin.
    """
    keys: dict[str, str] = {}

    def place(text: str, refs: dict[str, str]) -> str:
        text = _TOKEN.sub("{{token}}", text)
        text = _HEX_KEY.sub(lambda m: keys.setdefault(m.group(0), f"{{{{key{len(keys)}}}}}"),
                            text)  # fmt: skip
        for value, name in refs.items():
            text = re.sub(rf"(?<=/){re.escape(value)}(?=[/?]|$)", name, text)
        text = text.replace(alias_of(account), "{{alias}}")
        return re.sub(rf"(?<![0-9]){account}(?![0-9])", "{{account}}", text)

    # An id a response returns and a later path uses (the order id) becomes a placeholder
    # bound by the earliest response that returned it.
    returned: list[str | None] = []
    for call in calls:
        if not call.url.startswith(base_url):
            raise ValueError(f"a call to another origin: {call.url}")
        value = json.loads(call.response).get("id") if call.response[:1] == b"{" else None
        returned.append(value if isinstance(value, str) and value != str(account) else None)
    refs: dict[str, str] = {}
    binds: dict[int, str] = {}
    steps: list[Step] = []
    for index, call in enumerate(calls):
        path = call.url[len(base_url) :]
        for earlier in range(index):
            value = returned[earlier]
            if (
                value is not None
                and value not in refs
                and re.search(rf"(?<=/){re.escape(value)}(?=[/?]|$)", path)
            ):
                refs[value] = binds[earlier] = f"{{{{ref{len(refs)}}}}}"
        steps.append(
            Step(
                call.method,
                place(path, refs),
                tuple(sorted((k, place(v, refs)) for k, v in call.headers)),
                place(call.body.decode(), refs),
                call.status,
                None,
            )
        )
    return [attrs.evolve(s, returns=binds.get(i)) for i, s in enumerate(steps)]


def show(steps: Sequence[Step]) -> str:
    lines = []
    for step in steps:
        headers = ", ".join(f"{k}: {v}" for k, v in step.headers)
        body = f" body {step.body}" if step.body else ""
        returns = f" -> id as {step.returns}" if step.returns else ""
        lines.append(f"  {step.method} {step.path} [{headers}]{body} => {step.status}{returns}")
    return "\n".join(lines)


# -- our side ------------------------------------------------------------------------------


def make_store(kind: str, folder: Path) -> Store:
    if kind == "memory":
        return InMemoryStore()
    return SQLiteStore(folder / f"bench-{uuid.uuid4().hex}.sqlite3")


def make_plans(
    url: str, store: Store, transport: httpx.BaseTransport | None = None
) -> ResellerPlans:
    bss = BSSClient(
        url, client_key=CLIENT_KEY, client_secret=CLIENT_SECRET, username=USERNAME,
        password=PASSWORD, transport=transport,
    )  # fmt: skip
    shop = StorefrontClient(url, api_key=STOREFRONT_KEY, transport=transport)
    return ResellerPlans(bss=bss, storefront=shop, mailer=InMemoryMailer(), store=store)


def close_plans(plans: ResellerPlans) -> None:
    plans.bss.close()  # type: ignore[attr-defined]
    plans.storefront.close()  # type: ignore[attr-defined]
    plans.store.close()


def rows_for(accounts: Sequence[int]) -> list[UpgradeRow]:
    return [UpgradeRow.of(str(a), TARGET, alias_of(a)) for a in accounts]


@attrs.frozen
class Measured:
    seconds: float
    cpu: float
    upgrades: int
    server_cpu: float | None

    @property
    def throughput(self) -> float:
        return self.upgrades / self.seconds

    @property
    def cpu_per_upgrade_ms(self) -> float:
        return self.cpu / self.upgrades * 1000.0

    @property
    def server_cpu_per_upgrade_ms(self) -> float | None:
        return None if self.server_cpu is None else self.server_cpu / self.upgrades * 1000.0


def run_ours(
    emu: Emulator, accounts: Sequence[int], concurrency: int, store_kind: str, folder: Path
) -> Measured:
    plans = make_plans(emu.url, make_store(store_kind, folder))
    bulk = BulkUpgrade(plans, Actor.distributor(DISTRIBUTOR), concurrency=concurrency)
    rows = rows_for(accounts)
    try:
        server_before = emu.cpu_seconds()
        started, cpu_started = time.perf_counter(), time.process_time()
        report = bulk.run(rows)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        server_after = emu.cpu_seconds()
    finally:
        close_plans(plans)
    failed = [r for r in report.results if r.outcome.value != "done"]
    if failed:
        raise RuntimeError(f"{len(failed)} upgrades did not complete, first: {failed[0]}")
    server = None if server_before is None or server_after is None else server_after - server_before
    return Measured(seconds, cpu, len(rows), server)


# -- the bare script -----------------------------------------------------------------------


@attrs.frozen
class Template:
    """What a bulk run sends: a prologue once per run (reads our stack makes once for the whole
    run; empty today) and the requests of each upgrade."""

    prologue: tuple[Step, ...]
    steps: tuple[Step, ...]


def _split(first: Sequence[Step], steady: Sequence[Step]) -> tuple[Step, ...]:
    """The requests of the first upgrade that the later ones do not make, in order.

    Raises:
        RuntimeError: the first upgrade does not contain the later ones' requests in order.
    """
    extra: list[Step] = []
    matched = 0
    for step in first:
        if matched < len(steady) and step == steady[matched]:
            matched += 1
        else:
            extra.append(step)
    if matched != len(steady):
        raise RuntimeError("the first upgrade of a run does not make the later ones' requests")
    return tuple(extra)


class BareScript:
    """The template, replayed with one shared ``httpx.Client`` and a thread pool."""

    def __init__(self, base_url: str, template: Template, client: httpx.Client) -> None:
        self.base_url = base_url
        self.template = template
        self.client = client
        self.token = ""
        every = template.prologue + template.steps
        self.key_names = sorted({m for s in every for m in re.findall(r"\{\{key\d+\}\}", repr(s))})

    def fetch_token(self) -> None:
        response = self.client.post(
            self.base_url + "/oauth/token",
            data={"grant_type": "password", "username": USERNAME, "password": PASSWORD},
            auth=(CLIENT_KEY, CLIENT_SECRET),
            headers={"X-Api-Version": "3.0"},
        )
        response.raise_for_status()
        self.token = response.json()["access_token"]

    def upgrade(self, account: int) -> None:
        self._replay(self.template.steps, account)

    def _replay(self, steps: Sequence[Step], account: int) -> None:
        values = {"{{account}}": str(account), "{{alias}}": alias_of(account),
                  "{{token}}": self.token}  # fmt: skip
        for name in self.key_names:
            values[name] = uuid.uuid4().hex

        def fill(text: str) -> str:
            if "{{" in text:
                for name, value in values.items():
                    text = text.replace(name, value)
            return text

        client, base = self.client, self.base_url
        for step in steps:
            response = client.request(
                step.method,
                base + fill(step.path),
                headers={k: fill(v) for k, v in step.headers},
                content=fill(step.body) if step.body else None,
            )
            if response.status_code != step.status:
                raise RuntimeError(
                    f"{step.method} {fill(step.path)}: {response.status_code}, "
                    f"expected {step.status}: {response.text[:200]}"
                )
            if step.returns is not None:
                values[step.returns] = response.json()["id"]

    def run(self, accounts: Sequence[int], concurrency: int) -> None:
        self.fetch_token()
        if self.template.prologue and accounts:
            self._replay(self.template.prologue, accounts[0])
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for _ in pool.map(self.upgrade, accounts):
                pass


def run_bare(
    emu: Emulator, template: Template, accounts: Sequence[int], concurrency: int
) -> Measured:
    with httpx.Client(limits=POOL) as client:
        script = BareScript(emu.url, template, client)
        server_before = emu.cpu_seconds()
        started, cpu_started = time.perf_counter(), time.process_time()
        script.run(accounts, concurrency)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        server_after = emu.cpu_seconds()
    server = None if server_before is None or server_after is None else server_after - server_before
    return Measured(seconds, cpu, len(accounts), server)


# -- recording and checking the template ---------------------------------------------------


def record_template(store_kind: str, folder: Path, verbose: bool) -> Template:
    """Record a bulk run of three upgrades through our stack (one at a time), make the
    template of it, and check that the bare script sends exactly the same requests.

    Also warms both sides up (imports, compiled templates, regexes) outside any measurement.
    """
    accounts = [FIRST_ACCOUNT, FIRST_ACCOUNT + 1, FIRST_ACCOUNT + 2]
    with emulator(8, 0.0) as emu:
        recorder = RecordingTransport()
        ends: list[int] = []
        plans = make_plans(emu.url, make_store(store_kind, folder), recorder)
        bulk = BulkUpgrade(plans, Actor.distributor(DISTRIBUTOR), concurrency=1,
                           on_result=lambda _: ends.append(len(recorder.log)))  # fmt: skip
        try:
            report = bulk.run(rows_for(accounts))
        finally:
            close_plans(plans)
        if not report.ok or len(ends) != len(accounts):
            raise RuntimeError(f"a recorded upgrade failed: {report.results}")
        per_upgrade = []
        for account, start, end in zip(accounts, [0, *ends[:-1]], ends, strict=True):
            calls = [c for c in recorder.log[start:end] if not c.url.endswith("/oauth/token")]
            per_upgrade.append(template_of(calls, emu.url, account))
        steps = per_upgrade[-1]
        if per_upgrade[1] != steps:
            raise RuntimeError("our upgrades do not send the same requests each time")
        template = Template(_split(per_upgrade[0], steps), tuple(steps))
        if verbose:
            if template.prologue:
                print(f"once per run: {len(template.prologue)} requests\n{show(template.prologue)}")
            print(f"each upgrade through our stack: {len(steps)} requests\n{show(steps)}")

        bare_recorder = RecordingTransport()
        with httpx.Client(transport=bare_recorder) as client:
            script = BareScript(emu.url, template, client)
            script.fetch_token()
            bare_recorder.log.clear()
            script._replay(template.prologue, FIRST_ACCOUNT + 3)
            replayed = [template_of(bare_recorder.log, emu.url, FIRST_ACCOUNT + 3)]
            for account in (FIRST_ACCOUNT + 3, FIRST_ACCOUNT + 4):
                bare_recorder.log.clear()
                script.upgrade(account)
                replayed.append(template_of(bare_recorder.log, emu.url, account))
        if replayed != [list(template.prologue), steps, steps]:
            raise RuntimeError(
                "the bare script does not send what our stack sends:\n"
                f"ours:\n{show(steps)}\nbare:\n{show(replayed[1])}"
            )
        # warm the bare path without the recorder too
        with httpx.Client(limits=POOL) as client:
            BareScript(emu.url, template, client).run([FIRST_ACCOUNT + 5, FIRST_ACCOUNT + 6], 2)
    return template


# -- the concurrency models, bare ----------------------------------------------------------


def probe_models(requests: int, concurrency: int, latency: float) -> None:
    """Client CPU per request and requests per second of plain GETs: a sync Client
    sequentially, a sync Client shared by ``concurrency`` threads, and an AsyncClient with
    ``concurrency`` requests in flight (bounded by a semaphore)."""
    path = "/api/storefront/aliases/nobody"  # one small 404, no authentication state
    headers = {"X-ApiKey": STOREFRONT_KEY}

    def sync(workers: int, url: str) -> tuple[float, float]:
        with httpx.Client(limits=POOL) as client:
            client.get(url + path, headers=headers)
            started, cpu_started = time.perf_counter(), time.process_time()
            if workers == 1:
                for _ in range(requests):
                    client.get(url + path, headers=headers)
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    list(pool.map(lambda _: client.get(url + path, headers=headers),
                                  range(requests)))  # fmt: skip
            return time.perf_counter() - started, time.process_time() - cpu_started

    async def bounded(url: str) -> tuple[float, float]:
        async with httpx.AsyncClient(limits=POOL) as client:
            await client.get(url + path, headers=headers)
            gate = asyncio.Semaphore(concurrency)

            async def one() -> None:
                async with gate:
                    await client.get(url + path, headers=headers)

            started, cpu_started = time.perf_counter(), time.process_time()
            await asyncio.gather(*(one() for _ in range(requests)))
            return time.perf_counter() - started, time.process_time() - cpu_started

    runs: list[tuple[str, Callable[[str], tuple[float, float]]]] = [
        ("sync Client, sequential", lambda url: sync(1, url)),
        (f"sync Client, {concurrency} threads", lambda url: sync(concurrency, url)),
        (f"AsyncClient, {concurrency} in flight", lambda url: asyncio.run(bounded(url))),
    ]
    print(f"bare httpx, {requests} GETs per model, emulator latency {latency * 1000:.0f} ms:")
    for name, run in runs:
        with emulator(0, latency) as emu:
            server_before = emu.cpu_seconds()
            seconds, cpu = run(emu.url)
            server_after = emu.cpu_seconds()
        server = ""
        if server_before is not None and server_after is not None:
            server = f", emulator {(server_after - server_before) / requests * 1000:5.2f} ms"
        print(
            f"  {name:<28} {requests / seconds:7.0f} requests/s, "
            f"client CPU {cpu / requests * 1000:5.2f} ms/request{server}",
            flush=True,
        )


# -- the report ----------------------------------------------------------------------------


def measure(
    label: str,
    latency: float,
    template: Template,
    args: argparse.Namespace,
    folder: Path,
) -> tuple[list[Measured], list[Measured]]:
    accounts = list(range(FIRST_ACCOUNT, FIRST_ACCOUNT + args.resellers))
    ours: list[Measured] = []
    bare: list[Measured] = []
    for repeat in range(args.repeats):
        sides: list[Callable[[], None]] = []

        def our_run() -> None:
            with emulator(args.resellers, latency) as emu:
                ours.append(run_ours(emu, accounts, args.concurrency, args.store, folder))

        def bare_run() -> None:
            with emulator(args.resellers, latency) as emu:
                bare.append(run_bare(emu, template, accounts, args.concurrency))

        sides = [our_run, bare_run] if repeat % 2 == 0 else [bare_run, our_run]
        for side in sides:
            side()
        print(
            f"  {label} run {repeat + 1}: ours {ours[-1].throughput:7.1f}/s "
            f"{ours[-1].cpu_per_upgrade_ms:6.2f} ms CPU; bare {bare[-1].throughput:7.1f}/s "
            f"{bare[-1].cpu_per_upgrade_ms:6.2f} ms CPU",
            flush=True,
        )
    return ours, bare


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def summarize(label: str, ours: list[Measured], bare: list[Measured]) -> dict[str, Any]:
    def server(side: list[Measured]) -> str:
        values = [m.server_cpu_per_upgrade_ms for m in side]
        known = [v for v in values if v is not None]
        return f"{median(known):6.2f} ms" if known else "   n/a"

    thr_o, thr_b = median([m.throughput for m in ours]), median([m.throughput for m in bare])
    cpu_o = median([m.cpu_per_upgrade_ms for m in ours])
    cpu_b = median([m.cpu_per_upgrade_ms for m in bare])
    print(f"{label}")
    print(f"  {'':6} {'upgrades/s':>11} {'client CPU/upgrade':>19} {'emulator CPU/upgrade':>21}")
    print(f"  {'ours':6} {thr_o:11.1f} {cpu_o:16.2f} ms {server(ours):>21}")
    print(f"  {'bare':6} {thr_b:11.1f} {cpu_b:16.2f} ms {server(bare):>21}")
    print(f"  throughput ours/bare {thr_o / thr_b:.3f}   CPU ours/bare {cpu_o / cpu_b:.3f}")
    return {"throughput_ratio": thr_o / thr_b, "cpu_ratio": cpu_o / cpu_b}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--resellers", type=int, default=1000, help="upgrades per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per side and setting")
    parser.add_argument("--concurrency", type=int, default=32, help="upgrades in flight")
    parser.add_argument("--latency", type=float, default=0.05, help="setting (a): s per call")
    parser.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--only", choices=("a", "b"), help="run one setting only")
    parser.add_argument("--show-calls", action="store_true", help="print the recorded template")
    parser.add_argument("--probe-models", action="store_true",
                        help="only compare sync threads with AsyncClient, bare")  # fmt: skip
    parser.add_argument("--probe-requests", type=int, default=2000)
    args = parser.parse_args(argv)
    if args.resellers < 1 or args.repeats < 1 or args.concurrency < 1:
        parser.error("--resellers, --repeats and --concurrency must be at least 1")

    if args.probe_models:
        for latency in (0.0, args.latency):
            probe_models(args.probe_requests, args.concurrency, latency)
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as scratch:
        folder = Path(scratch)
        template = record_template(args.store, folder, args.show_calls)
        print(
            f"{args.resellers} resellers to {TARGET.title}, concurrency {args.concurrency}, "
            f"{len(template.steps)} requests per upgrade (+{len(template.prologue)} per run), "
            f"store: {args.store}, "
            f"median of {args.repeats} run(s); Python {sys.version.split()[0]}, "
            f"httpx {httpx.__version__}, {os.cpu_count()} CPUs",
            flush=True,
        )
        settings = [("a", args.latency), ("b", 0.0)]
        results: dict[str, dict[str, Any]] = {}
        for name, latency in settings:
            if args.only and args.only != name:
                continue
            label = f"({name}) emulator latency {latency * 1000:.0f} ms per call"
            ours, bare = measure(label, latency, template, args, folder)
            results[name] = summarize(label, ours, bare)
    print("bars:")
    if "a" in results:
        ratio = results["a"]["throughput_ratio"]
        verdict = "met" if ratio >= 0.8 else "MISSED"
        print(f"  (a) throughput ours/bare {ratio:.3f} >= 0.8: {verdict}")
    if "b" in results:
        ratio = results["b"]["cpu_ratio"]
        verdict = "met" if ratio <= 1.25 else "MISSED"
        print(f"  (b) client CPU per upgrade ours/bare {ratio:.3f} <= 1.25: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
