"""What every command shares: the settings, the service, the consoles, and how errors end.

Errors end the same way in every command: one message on standard error (a JSON object on
standard output with ``--json``) and the documented exit status. Messages speak of the command
line's commands (``change-plan``), not of the Python methods behind them.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import attrs
import click
from rich.console import Console

from reseller_plans.config import ConfigError, Settings, build_plans, load_settings
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.errors import (
    ConcurrentUpdate,
    InvalidInput,
    NotEligible,
    ResellerPlansError,
    SubscriptionBusy,
    TransientBackendError,
)
from reseller_plans.logs import LOGGER_NAME, RedactingFilter
from reseller_plans.service import ResellerPlans

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Session",
    "cli_words",
    "errors",
    "fail",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 75, 130

# What the library's messages call a Python method or a lifecycle trigger, in the command
# line's words: the command to run, or what the action does.
_CLI_WORDS = {
    "change_plan": "change-plan",
    "withdraw_change": "withdraw",
    "run_due": "run-due",
    "schedule_plan_change": "schedule a plan change for",
    "schedule_cancellation": "schedule the cancellation of",
    "withdraw_pending_change": "withdraw the scheduled change of",
}
_PYTHON_NAMES = re.compile(r"\b(" + "|".join(_CLI_WORDS) + r")\b")


def cli_words(message: str) -> str:
    """``message`` with the library's method and trigger names put in the command line's words."""
    return _PYTHON_NAMES.sub(lambda m: _CLI_WORDS[m.group(1)], message)


@attrs.define
class Session:
    """What the commands share: the settings, and the service once something needs it."""

    config_file: str | None
    overrides: dict[str, Any]
    json_output: bool
    out: Console
    err: Console
    verbosity: int = 0
    _plans: ResellerPlans | None = None
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        """The settings, read once from the flags, the environment and the file."""
        if self._settings is None:
            self._settings = load_settings(self.config_file, overrides=self.overrides)
        return self._settings

    @property
    def actor(self) -> Actor:
        """The distributor the commands act as."""
        self.settings.require("distributor")
        return Actor.distributor(self.settings.distributor or "")

    @property
    def plans(self) -> ResellerPlans:
        """The service, wired on first use."""
        if self._plans is None:
            # emails printed by the console mailer go with the progress, not the report
            self._plans = build_plans(self.settings, console=sys.stderr)
        return self._plans

    def echo_json(self, data: object) -> None:
        """Print ``data`` as JSON on standard output."""
        click.echo(json.dumps(data, indent=2))

    def close(self) -> None:
        """Close what the service opened."""
        if self._plans is not None:
            for adapter in (self._plans.bss, self._plans.storefront, self._plans.store):
                close = getattr(adapter, "close", None)
                if close is not None:
                    close()


def show_error(json_output: bool, err: Console, message: str, status: int) -> None:
    """Print an error: a JSON object on standard output with ``--json``, else on standard error."""
    if json_output:
        click.echo(json.dumps({"error": {"message": message, "exit_status": status}}, indent=2))
    else:
        err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)


def fail(session: Session, message: str, status: int) -> NoReturn:
    """Print the error ``message`` and exit with ``status``."""
    show_error(session.json_output, session.err, cli_words(message), status)
    sys.exit(status)


def describe(exc: ResellerPlansError) -> str:
    """What went wrong, in the command line's words."""
    if isinstance(exc, NotEligible):
        return str(exc.report)
    return cli_words(str(exc))


@contextmanager
def errors(session: Session) -> Iterator[None]:
    """Turn the library's errors into a clear message and the documented exit status."""
    try:
        yield
    except ConfigError as exc:
        fail(session, f"configuration: {exc}", EXIT_USAGE)
    except SubscriptionBusy as exc:
        fail(session, f"{exc} (the same command can be run again)", EXIT_BUSY)
    except ConcurrentUpdate as exc:  # another process is at it: nothing was changed here
        fail(session, f"{cli_words(str(exc))} (the same command can be run again)", EXIT_BUSY)
    except TransientBackendError as exc:
        where = session.settings.bss_url if session._settings else "the backend"
        fail(session, f"cannot reach {where} now ({exc}); nothing was changed that is not "
                      "recorded: run the command again later", EXIT_FAILED)  # fmt: skip
    except InvalidInput as exc:
        fail(session, str(exc), EXIT_USAGE)
    except ResellerPlansError as exc:
        fail(session, describe(exc), EXIT_FAILED)


class _CommandLineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler the command line adds to the library's logger."""


def configure_logging(verbosity: int, err: Console) -> None:
    """Show the library's log records on standard error: warnings by default, ``-v`` info,
    ``-vv`` debug. Only the library's own logger is configured, never the root or others'.
    """
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbosity, 2)]
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    for earlier in [h for h in logger.handlers if isinstance(h, _CommandLineHandler)]:
        logger.removeHandler(earlier)  # main() called again in one process: one handler
    handler = _CommandLineHandler(err.file)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
