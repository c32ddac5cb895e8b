"""The error tree: one root, the right builtins, messages a person can act on."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable

import pytest

from reseller_plans import (
    AliasTaken,
    BackendError,
    ChangePending,
    ConcurrentUpdate,
    EligibilityFailure,
    EligibilityReport,
    FailureCode,
    Forbidden,
    IdempotencyConflict,
    IllegalTransition,
    InvalidAlias,
    InvalidInput,
    NotEligible,
    NotFound,
    PermanentBackendError,
    Plan,
    ResellerPlansError,
    SubscriptionBusy,
    TransientBackendError,
)
from reseller_plans.domain import errors
from reseller_plans.domain.errors import OutcomeUnknown

# The tree drawn in the docstring of reseller_plans/domain/errors.py: (error, its parent).
TREE = [
    (InvalidInput, ResellerPlansError),
    (InvalidAlias, InvalidInput),
    (NotEligible, ResellerPlansError),
    (Forbidden, ResellerPlansError),
    (IllegalTransition, ResellerPlansError),
    (ChangePending, IllegalTransition),
    (AliasTaken, ResellerPlansError),
    (IdempotencyConflict, ResellerPlansError),
    (NotFound, ResellerPlansError),
    (BackendError, ResellerPlansError),
    (TransientBackendError, BackendError),
    (PermanentBackendError, BackendError),
    (ConcurrentUpdate, TransientBackendError),
    (SubscriptionBusy, ConcurrentUpdate),
    (OutcomeUnknown, TransientBackendError),
]


@pytest.mark.parametrize(("error", "parent"), TREE, ids=[e.__name__ for e, _ in TREE])
def test_error_sits_under_its_parent_in_the_tree(error: type, parent: type) -> None:
    assert issubclass(error, parent)
    assert issubclass(error, ResellerPlansError)


def test_tree_covers_every_error_the_module_exports() -> None:
    named = {getattr(errors, name) for name in errors.__all__}

    assert named == {ResellerPlansError} | {error for error, _ in TREE}


def test_every_error_is_drawn_in_the_module_docstring() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        assert name in doc, name


def test_root_is_an_exception_and_nothing_else() -> None:
    assert ResellerPlansError.__bases__ == (Exception,)


def test_branches_do_not_overlap() -> None:
    # Catching one branch must not catch another by accident.
    assert not issubclass(ChangePending, InvalidInput)
    assert not issubclass(AliasTaken, InvalidInput)
    assert not issubclass(TransientBackendError, PermanentBackendError)
    assert not issubclass(PermanentBackendError, TransientBackendError)
    assert not issubclass(NotFound, BackendError)


def test_invalid_input_is_a_value_error() -> None:
    assert issubclass(InvalidInput, ValueError)
    assert issubclass(InvalidAlias, ValueError)


def test_not_found_is_a_lookup_error() -> None:
    assert issubclass(NotFound, LookupError)
    with pytest.raises(LookupError):
        raise NotFound("no subscription S-1")


def test_errors_outside_those_branches_are_not_builtin_value_or_lookup_errors() -> None:
    for error in (NotEligible, Forbidden, IllegalTransition, AliasTaken, BackendError):
        assert not issubclass(error, (ValueError, LookupError)), error


def test_backend_error_str_includes_status_request_id_and_retry_after() -> None:
    error = TransientBackendError(
        "the BSS rate limit was hit", status=403, request_id="req-7f3a", retry_after=2.5
    )

    assert str(error) == "the BSS rate limit was hit | status 403 | request id req-7f3a" + (
        " | retry after 2.5s"
    )


def test_backend_error_str_leaves_out_what_it_does_not_know() -> None:
    assert str(PermanentBackendError("the BSS refused the order")) == "the BSS refused the order"
    assert str(BackendError("timeout", retry_after=30)) == "timeout | retry after 30s"


def test_backend_error_keeps_its_details_as_attributes() -> None:
    error = PermanentBackendError(
        "bad request", status=400, request_id="r-1", body_excerpt='{"error": "…"}'
    )

    assert (error.message, error.status, error.request_id) == ("bad request", 400, "r-1")
    assert error.body_excerpt == '{"error": "…"}'
    assert error.retry_after is None


def test_illegal_transition_names_the_state_and_the_action() -> None:
    error = IllegalTransition("cancelled", "suspend")

    assert (error.state, error.action, error.reason) == ("cancelled", "suspend", "")
    assert str(error) == "cannot suspend a subscription that is cancelled"


def test_change_pending_says_why_it_refused() -> None:
    error = ChangePending("active", "change plan", "a cancellation is scheduled")

    assert isinstance(error, IllegalTransition)
    assert str(error) == (
        "cannot change plan a subscription that is active: a cancellation is scheduled"
    )


def test_alias_taken_names_the_alias_and_what_to_do() -> None:
    error = AliasTaken("techsolutions")

    assert error.alias == "techsolutions"
    assert str(error) == "the Storefront Alias 'techsolutions' is taken: choose another"


def _report() -> EligibilityReport:
    failure = EligibilityFailure(FailureCode.ADDON_INACTIVE, "add-on off", "turn it on")
    return EligibilityReport("3542", Plan.STANDARD, (failure,))


# Errors cross process boundaries (a worker pool re-raises its workers' errors by pickling them)
# and get copied by frameworks; an error that cannot be rebuilt turns into a confusing TypeError.
ROUND_TRIPS = [
    pytest.param(
        lambda: InvalidAlias("ab", rule="too_short", reason="too short"), id="InvalidAlias"
    ),
    pytest.param(lambda: IllegalTransition("cancelled", "suspend"), id="IllegalTransition"),
    pytest.param(
        lambda: ChangePending("active", "cancel", "a change is scheduled"), id="ChangePending"
    ),
    pytest.param(lambda: NotEligible(_report()), id="NotEligible"),
    pytest.param(lambda: AliasTaken("techsolutions"), id="AliasTaken"),
    pytest.param(
        lambda: TransientBackendError("busy", status=503, request_id="r-1", retry_after=1),
        id="TransientBackendError",
    ),
    pytest.param(lambda: NotFound("no account 3542"), id="NotFound"),
]


def _pickled(error: Exception) -> Exception:
    # Our own object, pickled and unpickled in the same process: nothing untrusted is loaded.
    return pickle.loads(pickle.dumps(error))  # type: ignore[no-any-return]  # noqa: S301


@pytest.mark.parametrize("make", ROUND_TRIPS)
@pytest.mark.parametrize("clone", [copy.copy, _pickled], ids=["copy", "pickle"])
def test_error_survives_copy_and_pickle_with_its_message_and_details(
    make: Callable[[], Exception], clone: Callable[[Exception], Exception]
) -> None:
    error = make()

    clone_of_error = clone(error)

    assert type(clone_of_error) is type(error)
    assert str(clone_of_error) == str(error)
    assert clone_of_error.args == error.args
    assert vars(clone_of_error) == vars(error)
