"""Templates: the content of every message, strict rendering, escaping, overrides."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan
from reseller_plans.mail import CONTEXT_KEYS, RenderedMessage, Templates, TemplateSet

CONTEXT = {
    "reseller_name": "TechSolutions Ltd",
    "distributor_name": "Disti Cloud",
    "account_id": "ACC-1042",
    "subscription_id": "SUB-7731",
    "plan": "standard",
    "old_plan": "standard",
    "new_plan": "free",
    "alias": "techsolutions",
    "storefront_url": "https://cloud.disti.example/techsolutions",
    "distributor_storefront_url": "https://cloud.disti.example",
    "effective_at": "2025-07-01T00:00:00+00:00",
    "alias_held_until": "2025-07-31T00:00:00+00:00",
    "reason": "non-payment",
}

COMMON = {"reseller_name", "distributor_name"}
# The decision of which facts each default message needs; docs/emails/README.md lists the same.
REQUIRED: dict[tuple[MessageKind, Plan | None], set[str]] = {
    (MessageKind.WELCOME, Plan.FREE): COMMON | {"plan", "distributor_storefront_url"},
    (MessageKind.WELCOME, Plan.STANDARD): COMMON
    | {"plan", "storefront_url", "distributor_storefront_url"},
    (MessageKind.PLAN_UPGRADED, None): COMMON | {"storefront_url", "distributor_storefront_url"},
    (MessageKind.PLAN_CHANGE_SCHEDULED, None): COMMON | {"old_plan", "new_plan", "effective_at"},
    (MessageKind.PLAN_CHANGED, None): COMMON | {"old_plan", "new_plan", "effective_at"},
    (MessageKind.CANCELLATION_SCHEDULED, None): COMMON | {"plan", "effective_at"},
    (MessageKind.CANCELLATION_WITHDRAWN, None): COMMON | {"plan"},
    (MessageKind.CANCELLED, Plan.FREE): COMMON | {"plan", "distributor_storefront_url"},
    (MessageKind.CANCELLED, Plan.STANDARD): COMMON
    | {"plan", "alias", "alias_held_until", "distributor_storefront_url"},
    (MessageKind.SUSPENDED, None): COMMON | {"plan", "reason"},
    (MessageKind.RESUMED, None): COMMON | {"plan"},
    (MessageKind.PROVISIONING_FAILED, None): COMMON
    | {"account_id", "subscription_id", "plan", "reason"},
}


def context_for(kind: MessageKind, plan: Plan | None) -> dict[str, str]:
    """Exactly the keys the message needs, nothing more."""
    keys = REQUIRED[(kind, plan)]
    context = {key: CONTEXT[key] for key in keys}
    if plan is not None:
        context["plan"] = plan.value
    return context


def flat(text: str) -> str:
    """The text with its line wrapping undone."""
    return " ".join(text.split())


def render(kind: MessageKind, **changes: str) -> RenderedMessage:
    return Templates().render(kind, {**CONTEXT, **changes})


# --- every kind -------------------------------------------------------------------------------


def test_every_message_kind_has_a_default_template() -> None:
    covered = {kind for kind, _ in REQUIRED}

    assert covered == set(MessageKind)


@pytest.mark.parametrize(("kind", "plan"), list(REQUIRED), ids=str)
def test_each_message_renders_from_exactly_its_required_keys(
    kind: MessageKind, plan: Plan | None
) -> None:
    templates = Templates()

    rendered = templates.render(kind, context_for(kind, plan))

    assert templates.required_keys(kind, plan) == REQUIRED[(kind, plan)]
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert "$" not in rendered.subject + rendered.text + rendered.html
    assert rendered.html.startswith("<!DOCTYPE html>")
    assert CONTEXT["distributor_name"] in rendered.text


@pytest.mark.parametrize(("kind", "plan"), list(REQUIRED), ids=str)
def test_a_missing_key_is_named_with_the_kind(kind: MessageKind, plan: Plan | None) -> None:
    context = context_for(kind, plan)
    missing = sorted(REQUIRED[(kind, plan)] - {"plan"})[0]
    del context[missing]

    with pytest.raises(InvalidInput, match=rf"{kind.name}.*'{missing}' missing"):
        Templates().render(kind, context)


def test_several_missing_keys_are_all_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        Templates().render(MessageKind.SUSPENDED, {"plan": "free"})

    message = str(caught.value)
    assert "SUSPENDED" in message
    for key in ("'distributor_name'", "'reason'", "'reseller_name'"):
        assert key in message


def test_keys_a_template_does_not_use_are_ignored() -> None:
    rendered = Templates().render(MessageKind.RESUMED, {**CONTEXT, "unrelated": "x"})

    assert "Standard" in rendered.subject


# --- content ----------------------------------------------------------------------------------


def test_welcome_free_invites_to_customize_the_customer_portal_without_a_storefront() -> None:
    rendered = Templates().render(MessageKind.WELCOME, context_for(MessageKind.WELCOME, Plan.FREE))

    assert "Free" in rendered.subject
    assert "Customer Portal" in rendered.text
    assert "https://cloud.disti.example" in rendered.text
    assert "/techsolutions" not in rendered.text


def test_welcome_standard_carries_the_storefront_url_and_the_same_login() -> None:
    rendered = render(MessageKind.WELCOME, plan="standard")

    assert "Standard" in rendered.subject
    assert "Customer Portal" in rendered.text
    assert "https://cloud.disti.example/techsolutions" in rendered.text
    assert "credentials you already use on Disti Cloud's Storefront" in flat(rendered.text)
    assert 'href="https://cloud.disti.example/techsolutions"' in rendered.html


def test_welcome_variant_follows_the_plan_key_in_any_case() -> None:
    assert render(MessageKind.WELCOME, plan="Standard") == render(
        MessageKind.WELCOME, plan="standard"
    )
    assert render(MessageKind.WELCOME, plan="free") != render(MessageKind.WELCOME, plan="standard")


def test_plan_upgraded_carries_the_new_storefront_url() -> None:
    rendered = render(MessageKind.PLAN_UPGRADED)

    assert "from Free to Standard" in flat(rendered.text)
    assert "https://cloud.disti.example/techsolutions" in rendered.text


def test_plan_changes_name_both_plans_and_the_date() -> None:
    for kind in (MessageKind.PLAN_CHANGE_SCHEDULED, MessageKind.PLAN_CHANGED):
        rendered = render(kind)

        assert "from Standard to Free" in flat(rendered.text)
        assert "2025-07-01T00:00:00+00:00" in rendered.text


def test_cancelled_standard_says_storefront_offline_basic_and_alias_held() -> None:
    text = flat(render(MessageKind.CANCELLED, plan="standard").text)

    assert "back on the Basic plan" in text
    assert "Storefront under the alias techsolutions is now offline" in text
    assert "Disti Cloud's Storefront at https://cloud.disti.example" in text
    assert "hold the alias techsolutions for you until 2025-07-31T00:00:00+00:00" in text


def test_cancelled_free_has_no_storefront_to_take_offline() -> None:
    text = render(MessageKind.CANCELLED, plan="free").text

    assert "Basic plan" in text
    assert "offline" not in text
    assert "alias" not in text


def test_cancellation_scheduled_and_withdrawn() -> None:
    scheduled = flat(render(MessageKind.CANCELLATION_SCHEDULED).text)
    withdrawn = render(MessageKind.CANCELLATION_WITHDRAWN).text

    assert "2025-07-01T00:00:00+00:00" in scheduled
    assert "Basic plan" in scheduled
    assert "withdrawn" in scheduled
    assert "withdrawn" in withdrawn


def test_suspended_gives_the_reason_and_resumed_says_active_again() -> None:
    assert "non-payment" in render(MessageKind.SUSPENDED).text
    assert "active again" in render(MessageKind.RESUMED).subject


def test_provisioning_failed_tells_staff_the_reason_the_subscription_and_how_to_retry() -> None:
    rendered = render(MessageKind.PROVISIONING_FAILED, reason="Storefront answered 503")
    text = flat(rendered.text)

    assert "SUB-7731" in rendered.subject
    assert "Reason: Storefront answered 503" in rendered.text
    assert 'plans.retry("SUB-7731"' in text
    assert "in the BSS" in text
    assert '<code>plans.retry("SUB-7731"' in rendered.html


# --- safety -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "plan"), list(REQUIRED), ids=str)
def test_every_value_is_escaped_in_html_and_verbatim_in_text(
    kind: MessageKind, plan: Plan | None
) -> None:
    context = context_for(kind, plan)
    hostile = {
        key: f"<b>{key} & \"x\" 'y'</b>"
        for key in context
        if key not in {"plan", "old_plan", "new_plan", "storefront_url"}
        and key != "distributor_storefront_url"
    }
    context.update(hostile)

    rendered = Templates().render(kind, context)

    for value in hostile.values():
        assert value in rendered.text
        assert value not in rendered.html
        assert html.escape(value, quote=True) in rendered.html
    assert "<b>" not in rendered.html


def test_a_script_in_the_reseller_name_appears_only_escaped_in_html() -> None:
    rendered = render(MessageKind.WELCOME, reseller_name="<script>alert(1)</script>")

    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "Hello <script>alert(1)</script>," in rendered.text


def test_a_url_cannot_break_out_of_its_href() -> None:
    rendered = render(
        MessageKind.WELCOME, storefront_url='https://x.example/"onmouseover="alert(1)'
    )

    assert 'href="https://x.example/&quot;onmouseover=&quot;alert(1)"' in rendered.html


@pytest.mark.parametrize("url", ["javascript:alert(1)", "cloud.disti.example/shop", ""])
def test_a_url_key_must_be_a_web_url(url: str) -> None:
    with pytest.raises(InvalidInput, match="'storefront_url' must be an http"):
        render(MessageKind.WELCOME, storefront_url=url)


@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r", "\u2028", "\x85", "\x00"])
def test_subject_values_lose_their_line_breaks(line_break: str) -> None:
    rendered = render(
        MessageKind.PROVISIONING_FAILED,
        reseller_name=f"Evil{line_break}Bcc: victim@attacker.example",
    )

    assert rendered.subject == (
        "Provisioning failed: Standard plan for Evil Bcc: victim@attacker.example "
        "(subscription SUB-7731)"
    )
    assert f"Evil{line_break}Bcc" in rendered.text


def test_a_value_that_is_not_a_string_is_refused() -> None:
    context: dict[str, object] = {**CONTEXT, "reseller_name": 42}

    with pytest.raises(InvalidInput, match="'reseller_name' must be a string"):
        Templates().render(MessageKind.RESUMED, context)  # type: ignore[arg-type]


# --- plan selection ---------------------------------------------------------------------------


def test_a_per_plan_message_without_plan_asks_for_it() -> None:
    context = {k: v for k, v in CONTEXT.items() if k != "plan"}

    with pytest.raises(InvalidInput, match=r"WELCOME.*'plan' missing"):
        Templates().render(MessageKind.WELCOME, context)


def test_welcome_for_basic_has_no_template() -> None:
    with pytest.raises(InvalidInput, match="no WELCOME template for the basic plan"):
        render(MessageKind.WELCOME, plan="basic")


def test_an_unknown_plan_is_refused() -> None:
    with pytest.raises(InvalidInput, match="'plan' is 'gold'"):
        render(MessageKind.RESUMED, plan="gold")
    with pytest.raises(InvalidInput, match="'new_plan' is 'gold'"):
        render(MessageKind.PLAN_CHANGED, new_plan="gold")


def test_plan_variants_lists_the_plans_with_their_own_template() -> None:
    templates = Templates()

    assert templates.plan_variants(MessageKind.WELCOME) == (Plan.FREE, Plan.STANDARD)
    assert templates.plan_variants(MessageKind.CANCELLED) == (Plan.FREE, Plan.STANDARD)
    assert templates.plan_variants(MessageKind.RESUMED) == ()
    overridden = Templates({(MessageKind.RESUMED, Plan.FREE): TemplateSet(subject="Back")})
    assert overridden.plan_variants(MessageKind.RESUMED) == (Plan.FREE,)


# --- overrides --------------------------------------------------------------------------------


def test_an_override_replaces_only_the_parts_it_gives() -> None:
    default = render(MessageKind.RESUMED)
    templates = Templates(
        {MessageKind.RESUMED: TemplateSet(subject="Welcome back, $reseller_name ($plan_title)")}
    )

    rendered = templates.render(MessageKind.RESUMED, CONTEXT)

    assert rendered.subject == "Welcome back, TechSolutions Ltd (Standard)"
    assert rendered.text == default.text
    assert rendered.html == default.html


def test_a_plan_specific_override_wins_over_a_general_one() -> None:
    templates = Templates(
        {
            MessageKind.WELCOME: TemplateSet(text="general $reseller_name\n"),
            (MessageKind.WELCOME, Plan.STANDARD): TemplateSet(text="standard $storefront_url\n"),
        }
    )

    standard = templates.render(MessageKind.WELCOME, CONTEXT)
    free = templates.render(MessageKind.WELCOME, {**CONTEXT, "plan": "free"})

    assert standard.text == "standard https://cloud.disti.example/techsolutions\n"
    assert free.text == "general TechSolutions Ltd\n"
    assert free.subject == render(MessageKind.WELCOME, plan="free").subject


def test_a_general_override_of_all_parts_needs_no_plan() -> None:
    templates = Templates(
        {MessageKind.WELCOME: TemplateSet(subject="Hi", text="Hi $reseller_name", html="<p>Hi</p>")}
    )

    rendered = templates.render(MessageKind.WELCOME, {"reseller_name": "R"})

    assert rendered == RenderedMessage(subject="Hi", text="Hi R", html="<p>Hi</p>")
    assert templates.required_keys(MessageKind.WELCOME) == {"reseller_name"}


def test_an_override_with_a_missing_key_names_it_at_render_time() -> None:
    templates = Templates({MessageKind.RESUMED: TemplateSet(text="$reason")})

    with pytest.raises(InvalidInput, match=r"RESUMED.*'reason' missing"):
        templates.render(MessageKind.RESUMED, {k: v for k, v in CONTEXT.items() if k != "reason"})


def test_an_override_with_an_unknown_placeholder_is_refused_at_construction() -> None:
    with pytest.raises(InvalidInput, match=r"text of the resumed template.*\$resellr_name"):
        Templates({MessageKind.RESUMED: TemplateSet(text="Hello $resellr_name")})


@pytest.mark.parametrize("source", ["Price: $5", "Hello ${reseller_name", "trailing $"])
def test_an_override_with_an_invalid_placeholder_is_refused(source: str) -> None:
    with pytest.raises(InvalidInput, match="invalid placeholder"):
        Templates({MessageKind.RESUMED: TemplateSet(html=source)})


def test_a_literal_dollar_is_written_twice() -> None:
    templates = Templates({MessageKind.RESUMED: TemplateSet(text="Only $$0 a month")})

    assert templates.render(MessageKind.RESUMED, CONTEXT).text == "Only $0 a month"


@pytest.mark.parametrize("subject", ["Two\nlines", "Carriage\rreturn"])
def test_a_subject_template_must_be_one_line(subject: str) -> None:
    with pytest.raises(InvalidInput, match="one line"):
        TemplateSet(subject=subject)


def test_a_template_must_be_a_string() -> None:
    with pytest.raises(InvalidInput, match="text template must be a string"):
        TemplateSet(text=b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "key", ["welcome", (MessageKind.WELCOME, "standard"), (Plan.FREE, MessageKind.WELCOME)]
)
def test_an_override_key_must_be_a_kind_or_a_kind_and_plan(key: object) -> None:
    with pytest.raises(InvalidInput, match="keyed by a MessageKind"):
        Templates({key: TemplateSet(subject="x")})  # type: ignore[dict-item]


def test_an_override_value_must_be_a_template_set() -> None:
    with pytest.raises(InvalidInput, match="must be a TemplateSet"):
        Templates({MessageKind.RESUMED: "x"})  # type: ignore[dict-item]


def test_email_builds_the_port_message() -> None:
    message = Templates().email(
        MessageKind.RESUMED, CONTEXT, message_id="outbox-9", to=["a@x.example"]
    )

    assert message.message_id == "outbox-9"
    assert message.kind is MessageKind.RESUMED
    assert message.to == ("a@x.example",)
    assert message.subject == render(MessageKind.RESUMED).subject


def test_email_needs_a_recipient() -> None:
    with pytest.raises(InvalidInput, match="at least one recipient"):
        Templates().email(MessageKind.RESUMED, CONTEXT, message_id="outbox-9", to=[])


def test_context_keys_are_the_documented_ones() -> None:
    assert set(CONTEXT) == CONTEXT_KEYS


# --- from_directory ---------------------------------------------------------------------------


def test_from_directory_reads_any_subset_and_falls_back_to_defaults(tmp_path: Path) -> None:
    (tmp_path / "welcome.standard.subject.txt").write_text("Live: $storefront_url\n")
    (tmp_path / "resumed.txt").write_text("Back, $reseller_name.\n")
    (tmp_path / "resumed.html").write_text("<p>Back, $reseller_name.</p>\n")
    (tmp_path / ".gitkeep").write_text("")

    templates = Templates.from_directory(tmp_path)

    welcome = templates.render(MessageKind.WELCOME, CONTEXT)
    assert welcome.subject == "Live: https://cloud.disti.example/techsolutions"
    assert welcome.text == render(MessageKind.WELCOME).text
    resumed = templates.render(MessageKind.RESUMED, {**CONTEXT, "reseller_name": "<R>"})
    assert resumed.subject == render(MessageKind.RESUMED).subject
    assert resumed.text == "Back, <R>.\n"
    assert resumed.html == "<p>Back, &lt;R&gt;.</p>\n"


def test_from_directory_accepts_a_string_path(tmp_path: Path) -> None:
    (tmp_path / "resumed.subject.txt").write_text("Back")

    assert Templates.from_directory(str(tmp_path)).render(MessageKind.RESUMED, CONTEXT).subject == (
        "Back"
    )


@pytest.mark.parametrize(
    "name",
    ["welcome.md", "welcom.txt", "WELCOME.txt", "welcome.gold.txt", "welcome.free.extra.txt", "x"],
)
def test_from_directory_refuses_an_unknown_file_name(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("x")

    with pytest.raises(InvalidInput, match=f"unknown template file '{name}'"):
        Templates.from_directory(tmp_path)


def test_from_directory_refuses_a_folder_inside(tmp_path: Path) -> None:
    (tmp_path / "welcome.txt").mkdir()

    with pytest.raises(InvalidInput, match="is not a file"):
        Templates.from_directory(tmp_path)


def test_from_directory_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        Templates.from_directory(tmp_path / "nope")


def test_from_directory_refuses_a_bad_template_naming_it(tmp_path: Path) -> None:
    (tmp_path / "suspended.txt").write_text("Because $reasn\n")

    with pytest.raises(InvalidInput, match=r"suspended template.*\$reasn"):
        Templates.from_directory(tmp_path)


def test_from_directory_refuses_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "resumed.txt").write_bytes(b"caf\xe9")

    with pytest.raises(InvalidInput, match="cannot read template file"):
        Templates.from_directory(tmp_path)


def test_from_directory_refuses_a_two_line_subject(tmp_path: Path) -> None:
    (tmp_path / "suspended.subject.txt").write_text("One\nTwo\n")

    with pytest.raises(InvalidInput, match=r"suspended template.*one line"):
        Templates.from_directory(tmp_path)


def test_repr_names_the_overrides() -> None:
    templates = Templates(
        {
            MessageKind.RESUMED: TemplateSet(subject="x"),
            (MessageKind.WELCOME, Plan.FREE): TemplateSet(subject="y"),
        }
    )

    assert repr(templates) == (
        "Templates(overrides=[resumed template, welcome template for the free plan])"
    )
