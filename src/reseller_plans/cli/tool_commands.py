"""Commands that serve or simulate: ``emulator``, ``serve`` and ``simulate``."""

from __future__ import annotations

import logging
import sys
import time

import attrs
import click

from reseller_plans.cli.app import cli, pass_session
from reseller_plans.cli.session import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Session, errors, fail
from reseller_plans.logs import LOGGER_NAME

__all__ = ["emulator", "serve", "simulate"]


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--fixture", type=click.Path(exists=True, dir_okay=False),
    help="A JSON fixture of accounts, products and credentials (default: the shipped demo).",
)  # fmt: skip
@click.option(
    "--resellers", type=click.IntRange(0), default=0, help="Extra demo resellers (ids 10001 up)."
)
@click.option(
    "--latency", type=click.FloatRange(0), default=0.0, help="Seconds added to each answer."
)
@click.option(
    "--error-rate", type=click.FloatRange(0, 1), default=0.0, help="Share of random 503s."
)
@click.option("--seed", type=int, default=0, help="The seed of the random errors.")
@click.option(
    "--rate-limit", type=click.IntRange(0), default=0, help="Requests per second (0: off)."
)
@pass_session
def emulator(
    session: Session,
    host: str,
    port: int,
    fixture: str | None,
    resellers: int,
    latency: float,
    error_rate: float,
    seed: int,
    rate_limit: int,
) -> None:
    """Serve the BSS and Storefront emulator (needs the `server` extra).

    Prints the credentials it accepts, the distributor's id and an environment block to paste
    into a shell; its state is readable at /_emulator/state.
    """
    try:
        from reseller_plans.testing.emulator.__main__ import (  # noqa: PLC0415 - `server` extra
            EmulatorOptions,
            serve,
        )
    except ImportError:
        fail(session, "emulator needs the server extra: pip install 'reseller-plans[server]'", 2)
    options = EmulatorOptions(host, port, fixture, resellers, latency, error_rate, seed, rate_limit)
    sys.exit(serve(options))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The interface to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--access-log", is_flag=True, help="Print a line per request (uvicorn's access log).")
@pass_session
def serve(session: Session, host: str, port: int, access_log: bool) -> None:
    """Serve the service manager the platform calls (needs the `server` extra).

    The platform authenticates with RESELLER_PLANS_PLATFORM_APPLICATION_ID and
    RESELLER_PLANS_PLATFORM_API_KEY (environment or file only).
    """
    try:
        import uvicorn  # noqa: PLC0415 - the `server` extra

        from reseller_plans.service_manager import (  # noqa: PLC0415
            PlatformTokenAccountReader,
            ServiceManager,
            configured_bss_reader,
        )
        from reseller_plans.service_manager.asgi import SERVER_LIMITS, create_app  # noqa: PLC0415
    except ImportError:
        fail(session, "serve needs the server extra: pip install 'reseller-plans[server]'", 2)
    with errors(session):
        settings = session.settings
        settings.require("platform_application_id", "platform_api_key", "distributor")
        plans = session.plans
        # The platform's token is used on the configured BSS hosts only; else the BSS we have.
        reader = PlatformTokenAccountReader(
            hosts=settings.account_hosts,
            fallback=configured_bss_reader(plans.bss),
            distributor_id=settings.distributor,
            api_version=settings.api_version,
            clock=plans.clock,
        )
        manager = ServiceManager(
            plans,
            account_reader=reader,
            credentials={
                settings.platform_application_id or "": (
                    settings.platform_api_key.reveal() if settings.platform_api_key else ""
                )
            },
            distributor_id=settings.distributor or "",
        )
    session.err.print(f"service manager on http://{host}:{port}/")
    # Timeouts and connection limits: SERVER_LIMITS (docs/service-manager.md, "Server limits").
    uvicorn.run(
        create_app(manager),
        host=host,
        port=port,
        lifespan="off",
        log_level="info" if access_log else "warning",
        access_log=access_log,
        **SERVER_LIMITS,
    )
    reader.close()


@cli.command()
@click.option("--resellers", type=click.IntRange(1), default=1_000, show_default=True)
@click.option("--months", type=click.IntRange(1), default=12, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="The seed that replays a run.")
@click.option("--distributors", type=click.IntRange(1), help="Eligible distributors.")
@click.option("--ineligible-share", type=click.FloatRange(0, 1), default=0.1, show_default=True)
@click.option(
    "--activity", type=click.FloatRange(0, 1), default=0.006, show_default=True,
    help="Share of resellers acting each day.",
)  # fmt: skip
@click.option("--fault-rate", type=click.FloatRange(0, 1), default=0.03, show_default=True)
@click.option("--crash-rate", type=click.FloatRange(0, 1), default=0.003, show_default=True)
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True, help="Processes.")
@click.option("--no-faults", is_flag=True, help="Inject no backend faults.")
@click.option("--no-crashes", is_flag=True, help="Inject no crashes.")
@pass_session
def simulate(
    session: Session,
    resellers: int,
    months: int,
    seed: int,
    distributors: int | None,
    ineligible_share: float,
    activity: float,
    fault_rate: float,
    crash_rate: float,
    workers: int,
    no_faults: bool,
    no_crashes: bool,
) -> None:
    """Simulate reseller lifecycles in memory (months of renewals, faults, crashes) and print
    the report; exit 1 when an invariant was violated. Needs no backend and no settings."""
    from reseller_plans.testing.simulator import Simulator  # noqa: PLC0415 - the harness

    if session.verbosity == 0:  # the injected failures are expected: do not show them
        logging.getLogger(LOGGER_NAME).setLevel(logging.CRITICAL)
    try:
        simulator = Simulator(
            seed=seed, resellers=resellers, months=months, distributors=distributors,
            ineligible_share=ineligible_share, activity=activity, faults=not no_faults,
            fault_rate=fault_rate, crashes=not no_crashes, crash_rate=crash_rate,
            workers=workers,
        )  # fmt: skip
    except ValueError as exc:
        fail(session, str(exc), EXIT_USAGE)
    started, cpu = time.perf_counter(), time.process_time()
    report = simulator.run()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if session.json_output:
        session.echo_json({"ok": report.ok, **attrs.asdict(report), "seconds": round(elapsed, 3)})
    else:
        click.echo(str(report))
        click.echo(f"Simulated in {elapsed:.2f} s of wall time ({cpu:.2f} s of CPU).")
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)
