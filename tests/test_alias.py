"""The Storefront Alias: its rules, its normalization and its URL."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from hypothesis import example, given

from reseller_plans import InvalidAlias, InvalidInput, StorefrontAlias
from reseller_plans.domain import RESERVED_ALIASES
from strategies import alias_like_text, respellings, valid_aliases


def _refused_rule(text: object) -> str:
    with pytest.raises(InvalidAlias) as info:
        StorefrontAlias.parse(text)  # type: ignore[arg-type]
    return info.value.rule


# One test per rule, so a broken rule names itself in the test report.


def test_empty_alias_is_refused_as_required() -> None:
    assert _refused_rule("") == "required"


def test_blank_alias_is_refused_as_required_after_trimming() -> None:
    assert _refused_rule("  \t ") == "required"


def test_alias_shorter_than_three_characters_is_refused_as_too_short() -> None:
    assert _refused_rule("ab") == "too_short"


def test_alias_longer_than_sixty_three_characters_is_refused_as_too_long() -> None:
    assert _refused_rule("a" * 64) == "too_long"


@pytest.mark.parametrize("text", ["tech_solutions", "tech.solutions", "tech solutions", "café"])
def test_alias_with_a_character_outside_a_z_digits_and_hyphen_is_refused_as_bad_character(
    text: str,
) -> None:
    assert _refused_rule(text) == "bad_character"


def test_alias_with_a_slash_is_refused_so_it_cannot_escape_its_path_segment() -> None:
    assert _refused_rule("tech/../admin") == "bad_character"


@pytest.mark.parametrize("text", ["1tech", "-tech", "42abc"])
def test_alias_starting_with_a_digit_or_hyphen_is_refused_as_must_start_with_letter(
    text: str,
) -> None:
    assert _refused_rule(text) == "must_start_with_letter"


def test_alias_ending_with_a_hyphen_is_refused_as_trailing_hyphen() -> None:
    assert _refused_rule("tech-") == "trailing_hyphen"


def test_alias_with_two_hyphens_in_a_row_is_refused_as_double_hyphen() -> None:
    assert _refused_rule("tech--solutions") == "double_hyphen"


@pytest.mark.parametrize("text", ["admin", "api", "login", "static", "Checkout", " www "])
def test_reserved_word_is_refused_as_reserved_whatever_its_case(text: str) -> None:
    assert _refused_rule(text) == "reserved"


@pytest.mark.parametrize("value", [None, 42, b"techsolutions", ["techsolutions"]])
def test_alias_that_is_not_text_is_refused_as_not_text(value: object) -> None:
    assert _refused_rule(value) == "not_text"


def test_refusal_carries_the_alias_as_given_the_rule_and_a_readable_reason() -> None:
    with pytest.raises(InvalidAlias) as info:
        StorefrontAlias.parse("tech--solutions")

    error = info.value
    assert (error.alias, error.rule) == ("tech--solutions", "double_hyphen")
    assert error.reason == "must not contain '--'"
    assert str(error) == "invalid Storefront Alias 'tech--solutions': must not contain '--'"


def test_bad_character_refusal_names_the_offending_characters() -> None:
    with pytest.raises(InvalidAlias, match=r"found '\.' '_'"):
        StorefrontAlias.parse("tech_solutions.co")


def test_invalid_alias_is_an_invalid_input_and_a_value_error() -> None:
    with pytest.raises(InvalidInput):
        StorefrontAlias.parse("ab")
    with pytest.raises(ValueError, match="at least 3"):
        StorefrontAlias.parse("ab")


def test_alias_of_exactly_three_and_exactly_sixty_three_characters_is_accepted() -> None:
    assert StorefrontAlias.parse("abc").value == "abc"
    assert StorefrontAlias.parse("a" * 63).value == "a" * 63


def test_parse_trims_and_lowercases_the_input() -> None:
    assert StorefrontAlias.parse("  TechSolutions \n").value == "techsolutions"


def test_parse_returns_an_alias_unchanged() -> None:
    alias = StorefrontAlias.parse("techsolutions")

    assert StorefrontAlias.parse(alias) is alias


def test_constructor_validates_without_normalizing() -> None:
    with pytest.raises(InvalidAlias) as info:
        StorefrontAlias("TechSolutions")

    assert info.value.rule == "bad_character"


def test_alias_renders_as_its_value_and_compares_by_value() -> None:
    alias = StorefrontAlias.parse("TechSolutions")

    assert str(alias) == "techsolutions"
    assert alias == StorefrontAlias("techsolutions")
    assert sorted([StorefrontAlias("zeta"), alias]) == [alias, StorefrontAlias("zeta")]
    assert len({alias, StorefrontAlias("techsolutions")}) == 1


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("cloud.disti.com", "https://cloud.disti.com/techsolutions"),
        ("cloud.disti.com/", "https://cloud.disti.com/techsolutions"),
        (" cloud.disti.com ", "https://cloud.disti.com/techsolutions"),
        ("https://cloud.disti.com", "https://cloud.disti.com/techsolutions"),
        ("http://localhost:8080/", "http://localhost:8080/techsolutions"),
    ],
)
def test_url_puts_the_alias_under_the_distributors_storefront_host(host: str, url: str) -> None:
    assert StorefrontAlias.parse("techsolutions").url(host) == url


def test_every_reserved_word_is_refused_whatever_its_case() -> None:
    for word in RESERVED_ALIASES:
        with pytest.raises(InvalidAlias):
            StorefrontAlias.parse(word.upper())


def test_every_reserved_word_long_enough_to_be_an_alias_is_refused_as_reserved() -> None:
    # Words shorter than 3 characters ("js") are refused as too_short before the list is read.
    for word in (w for w in RESERVED_ALIASES if len(w) >= 3):
        with pytest.raises(InvalidAlias) as info:
            StorefrontAlias.parse(word)
        assert info.value.rule == "reserved", word


# Properties.

ALIAS_GRAMMAR = re.compile(r"[a-z](?:[a-z0-9]|-(?!-))*[a-z0-9]")


def _follows_the_documented_rules(text: str) -> bool:
    """The alias rules of docs/concepts.md, written independently of the code."""
    normalized = text.strip().lower()
    return (
        3 <= len(normalized) <= 63
        and ALIAS_GRAMMAR.fullmatch(normalized) is not None
        and normalized not in RESERVED_ALIASES
    )


@given(alias_like_text)
@example("abc")
@example("a" * 63)
@example("a" * 64)
@example("ab")
@example("a-b")
@example("a--b")
@example("abc-")
@example("1abc")
@example("abc\n")
@example("\u212aelvin")  # KELVIN SIGN lowercases to an ASCII "k"
def test_text_is_accepted_if_and_only_if_it_follows_the_documented_rules(text: str) -> None:
    try:
        StorefrontAlias.parse(text)
    except InvalidAlias:
        accepted = False
    else:
        accepted = True

    assert accepted is _follows_the_documented_rules(text)


@given(alias_like_text)
def test_every_accepted_alias_reparses_to_itself_and_is_a_url_path_segment(text: str) -> None:
    try:
        alias = StorefrontAlias.parse(text)
    except InvalidAlias:
        return

    assert StorefrontAlias.parse(alias.value) == alias
    assert urllib.parse.quote(alias.value, safe="") == alias.value
    assert "/" not in alias.value


@given(valid_aliases())
def test_every_alias_built_from_the_grammar_is_accepted_as_is(text: str) -> None:
    assert StorefrontAlias.parse(text).value == text


@given(valid_aliases().flatmap(lambda text: respellings(text).map(lambda typed: (text, typed))))
def test_case_and_surrounding_blanks_do_not_change_the_alias(pair: tuple[str, str]) -> None:
    text, typed = pair

    assert StorefrontAlias.parse(typed).value == text
