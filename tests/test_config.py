"""Settings: flags over environment over file; secrets only from the environment or the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from reseller_plans.config import ConfigError, Settings, build_plans, load_settings
from reseller_plans.mail import ConsoleMailer, SMTPMailer

ENV = {
    "RESELLER_PLANS_BSS_URL": "http://127.0.0.1:9",
    "RESELLER_PLANS_CLIENT_ID": "key",
    "RESELLER_PLANS_CLIENT_SECRET": "canary-client-secret",
    "RESELLER_PLANS_USERNAME": "user",
    "RESELLER_PLANS_PASSWORD": "canary-password",
    "RESELLER_PLANS_STOREFRONT_API_KEY": "canary-api-key",
}


def test_flags_win_over_the_environment_which_wins_over_the_file(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('distributor = 7\nstore = "file.db"\n[bss]\nurl = "http://file"\n')
    settings = load_settings(
        config,
        environ={"RESELLER_PLANS_BSS_URL": "http://env", "RESELLER_PLANS_STORE": "env.db"},
        overrides={"store": "flag.db", "bss_url": None},
    )
    assert (settings.bss_url, settings.store, settings.distributor) == (
        "http://env",
        "flag.db",
        "7",
    )


def test_secrets_are_refused_as_flags_and_never_shown() -> None:
    with pytest.raises(ConfigError, match="secret"):
        load_settings(environ={}, overrides={"password": "hunter2"})
    settings = load_settings(environ=ENV)
    assert "canary" not in repr(settings)
    assert settings.password is not None
    assert settings.password.reveal() == "canary-password"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[bss\n", "not valid TOML"),
        ("[bss]\nnope = 1\n", "unknown setting \\[bss\\] nope"),
        ("colour = 1\n", "unknown setting colour"),
    ],
)
def test_a_bad_file_is_a_configuration_error(tmp_path: Path, text: str, problem: str) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=problem):
        load_settings(config, environ={})


def test_a_missing_file_and_bad_values_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nowhere.toml", environ={})
    with pytest.raises(ConfigError, match="smtp_port"):
        load_settings(environ={"RESELLER_PLANS_SMTP_PORT": "lots"})
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(environ={}, overrides={"colour": "blue"})


def test_missing_settings_are_named_with_where_to_give_them() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings().require("bss_url", "client_secret")
    text = str(caught.value)
    assert "RESELLER_PLANS_BSS_URL" in text
    assert "--bss-url" in text
    assert "--client-secret" not in text  # secrets have no flag


def test_build_plans_wires_smtp_or_the_console(tmp_path: Path) -> None:
    console = build_plans(
        load_settings(environ={**ENV, "RESELLER_PLANS_STORE": str(tmp_path / "a.db")})
    )
    assert isinstance(console.mailer, ConsoleMailer)
    smtp = build_plans(
        load_settings(
            environ={
                **ENV,
                "RESELLER_PLANS_STORE": str(tmp_path / "b.db"),
                "RESELLER_PLANS_SMTP_HOST": "127.0.0.1",
                "RESELLER_PLANS_SMTP_PORT": "2525",
                "RESELLER_PLANS_SMTP_SECURITY": "none",
            }
        )
    )
    assert isinstance(smtp.mailer, SMTPMailer)
    for plans in (console, smtp):
        plans.bss.close()  # type: ignore[attr-defined]
        plans.storefront.close()  # type: ignore[attr-defined]
        plans.store.close()
    with pytest.raises(ConfigError, match="missing settings"):
        build_plans(Settings())


def test_the_platform_hosts_default_to_the_bss_url_and_read_a_list_or_commas(
    tmp_path: Path,
) -> None:
    assert load_settings(environ=ENV).account_hosts == ("http://127.0.0.1:9",)
    env = {**ENV, "RESELLER_PLANS_PLATFORM_HOSTS": "https://a.example, https://b.example"}
    assert load_settings(environ=env).account_hosts == ("https://a.example", "https://b.example")
    path = tmp_path / "c.toml"
    path.write_text('[service_manager]\nplatform_hosts = ["https://c.example"]\n', "utf-8")
    assert load_settings(path, environ={}).account_hosts == ("https://c.example",)
    path.write_text("[service_manager]\nplatform_hosts = 7\n", "utf-8")
    with pytest.raises(ConfigError, match="platform_hosts must be URLs"):
        load_settings(path, environ={})
