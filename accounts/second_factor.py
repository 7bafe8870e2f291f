"""The extension point through which second factors join the login and the reauthentication flows.

accounts knows no factor. An app that provides them (the `mfa` app) registers one `SecondFactor` when it loads
(`register`); from then on:
- a login whose password is right, for a user with a factor, stops at 401 `mfa_required` with a single-use
  `mfa_token` and the `methods` the user can answer with, and `accounts.flows.login.complete_second_step`
  finishes it with one answer (accounts.flows.login);
- a reauthentication may be proven with an answer instead of the password (accounts.flows.reauthentication);
- a security key's answer needs options first: `challenge` (the API's login/mfa/options/ and
  reauthenticate/options/).

Without a registered factor every user has none, and both flows are what they were. The arrow points one way:
the factor's app imports accounts, never the reverse.
"""
from dataclasses import dataclass, field
from typing import Protocol

from authcore.errors import ServiceError
from authcore.requestmeta import ClientInfo


@dataclass(frozen=True)
class FactorAnswer:
    """What the user gave as a second factor: one of these."""

    code: str = ""  # the current code of an authenticator app (TOTP)
    recovery_code: str = ""  # one of the account's single-use recovery codes
    # A security key's answer (the PublicKeyCredential as JSON) to options from `SecondFactor.challenge`.
    webauthn: dict | None = field(default=None, hash=False)

    def is_empty(self) -> bool:
        return not (self.code or self.recovery_code or self.webauthn)

    @classmethod
    def from_typed(cls, typed: str) -> "FactorAnswer":
        """One box on a page for either code: six digits (spaces and dashes aside) are an app's code, anything
        else is tried as a recovery code."""
        digits = typed.replace(" ", "").replace("-", "")
        return cls(code=typed) if len(digits) == 6 and digits.isascii() and digits.isdigit() else \
            cls(recovery_code=typed)


@dataclass(frozen=True)
class Verified:
    """A second factor that held: the RFC 8176 `amr` values it adds to the sign-in ("otp", "hwk", ...)."""

    methods: tuple[str, ...]


class SecondFactor(Protocol):
    # The URL name of the page where a user manages their factors (linked from the account home).
    manage_url: str
    # The URL name of the page where a reset link adds a new passkey to an account without a password (linked from
    # the reset page for such an account).
    passkey_reset_url: str

    def missing_for(self, user) -> bool:
        """Whether the project requires `user` to have a factor (staff, say) and they have none yet: the admin
        sends them to `manage_url` first."""

    def methods(self, user) -> list[str]:
        """The kinds of answer `user` can give ("totp", "recovery_code", "webauthn"); [] for a user with none."""

    def verify(self, user, answer: FactorAnswer, *, client: ClientInfo) -> Verified:
        """Check `answer` for `user`, consuming what is single-use (a code's step, a recovery code, a challenge);
        raise ServiceError("mfa_code_incorrect") when it does not hold (or the factor's own code: a security
        key's answer that is malformed or from a cloned key)."""

    def challenge(self, user) -> dict:
        """Security-key request options for `user` (the challenge in them works once, for this user); 400
        `mfa_method_unavailable` when the user has no security key."""

    # Optional: has_factor_condition(self) -> an expression, true for a user (the outer query's row) with a factor.
    # With it, the login's user lookup says whether the user has one (with_factor_flag), and a login without a
    # factor asks nothing more.


_registered: list[SecondFactor] = []


def register(second_factor: SecondFactor) -> None:
    """Install the project's second factors (one provider; registering again replaces it)."""
    _registered[:] = [second_factor]


def installed() -> SecondFactor | None:
    return _registered[0] if _registered else None


# Set on a user by the lookup with_factor_flag annotates: whether they had a factor when it read their row.
FACTOR_FLAG = "has_second_factor"


def with_factor_flag(users):
    """`users` (a User queryset) also reading whether each user has a factor, in the same statement, when the
    provider can say so (SecondFactor.has_factor_condition): the login's lookup of its user
    (UserManager.get_by_natural_key)."""
    condition = getattr(installed(), "has_factor_condition", None)
    return users.annotate(**{FACTOR_FLAG: condition()}) if condition is not None else users


def methods_for(user) -> list[str]:
    provider = installed()
    if provider is None:
        return []
    # A user read with the flag (the login's lookup, before its password check) and without a factor then: no
    # query. The flag is only ever False on the instance that lookup built, for the request that built it; a
    # factor added since is as unseen as one added between a separate query and the session's start. The window is
    # the password hash's length; a session opened in it is no different from one opened just before the factor
    # was added, which adding a factor does not end either.
    if user.__dict__.get(FACTOR_FLAG) is False:
        return []
    return provider.methods(user)


def missing_for(user) -> bool:
    provider = installed()
    return bool(provider and provider.missing_for(user))


def passkey_reset_url_for(user) -> str | None:
    """Where the reset link of `user` may add a passkey instead of setting a password: only for an account without a
    usable password (it signs in with passkeys only)."""
    provider = installed()
    return provider.passkey_reset_url if provider and not user.has_usable_password() else None


def challenge_for(user) -> dict:
    provider = installed()
    if provider is None:
        raise ServiceError("mfa_method_unavailable")
    return provider.challenge(user)
