"""One canonical form for email addresses: the form we store, look up and send mail to.

Two strings that reach the same mailbox must be one account. Otherwise a look-alike registration
(`mallory@ｅｘａｍｐｌｅ.com` in fullwidth letters, `\\u212Aate@example.com` with the Kelvin sign) creates
a second account whose mail is delivered to the real owner's mailbox, and it slips past the "someone
tried to register with your address" notice; or, where the database lower-cases it into an existing
address, it blocks the real owner and sends their notices to the attacker's spelling.

The rule (`canonical_email`), in order:

1. Strip surrounding whitespace.
2. NFKC on the whole address: compatibility characters become their plain form (fullwidth letters,
   U+212A KELVIN SIGN -> "K", ligatures such as "ﬁ" -> "fi", the fullwidth "＠").
3. Split at the last "@" (a quoted local part may itself contain "@").
4. The local part must now be ASCII, and is kept with its case as typed. RFC 5321 lets a server treat
   the local part as case-sensitive, so mail goes to the address exactly as stored. A non-ASCII local
   part (SMTPUTF8) is refused: no standard says when two of them are the same mailbox, so we could not
   tell a look-alike from the real one. This is also where the dotless "ı" ends up: Django's validator
   lets it through (Python's case-insensitive [a-z] matches it) and NFKC keeps it.
5. The domain goes through IDNA 2008 with UTS #46 mapping and STD3 rules (the `idna` package) to its
   ASCII form, lower-cased: A-labels ("xn--...") for internationalised labels. Whatever IDNA refuses
   is refused (disallowed characters, bad hyphens or joiners, invalid A-labels, labels over 63 octets,
   empty labels, a trailing dot, domain literals such as "[127.0.0.1]"). In a domain, "ı" is a valid
   IDNA character: "ımage.com" is stored as "xn--mage-kza.com", a different domain from "image.com"
   (it is registered separately and its mail goes there), so it is a different account.
6. A domain label whose letters, marks or digits mix writing systems is refused: "раypal" (Cyrillic
   "р" and "а" among Latin letters) is made to look like another domain. The only mixes allowed are the
   ones a single writing system needs: Han with Hiragana and Katakana (Japanese), with Hangul (Korean),
   with Bopomofo (Chinese). This is stricter than Unicode's "highly restrictive" profile, which also
   allows Latin next to those, because Latin next to CJK characters that look like punctuation ("ー",
   "一") is itself a known look-alike trick. The standard library has no Unicode script property, so
   the script is the first word of the character's Unicode name ("LATIN SMALL LETTER A", "CYRILLIC
   SMALL LETTER A", "CJK UNIFIED IDEOGRAPH-4E00"), with the few aliases below. It lumps a few rare
   historic scripts together ("OLD ITALIC" and "OLD PERSIAN" are both "OLD"), which only lets such
   rare mixes through and never joins Latin, Greek or Cyrillic. A character unknown to Python's
   Unicode database (newer than it) is refused, since its script cannot be told. A label written
   wholly in another script to look like a Latin one ("аррӏе", all Cyrillic) is not caught: that needs
   Unicode's confusables data, which the standard library does not have.
7. The result must fit the 254 characters of the email column (an A-label is longer than the
   Unicode label it encodes).

What cannot be canonicalised raises ValidationError with the code `email_unsupported`. Creating an
account with such an address is refused; looking one up matches nothing.

Uniqueness stays case-insensitive on the whole address (the unique index on lower(email)): "Alice@x.com"
and "alice@x.com" are one account, even though mail goes to the case as stored. Canonical addresses are
ASCII, where Python's and the database's lower-casing agree, so the lookup and the index see the same key.

Existing rows: `plan_email_canonicalisation` decides, from plain (pk, email) rows, which stored addresses
to rewrite and which to report (collisions, addresses with no canonical form). The data migration and
the `find_email_collisions` command share it. It takes plain dicts, not the User model, so later changes
to the model (a save() override, a default manager filter) cannot change what the migration does. It
does apply the current `canonical_email`, on purpose: the migration's job is to bring stored addresses
to the form the running code looks up. A later change to the rule must therefore ship with its own data
migration that runs the plan again; running it twice is harmless (canonical addresses are left as they are).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
import functools
import re
from typing import Any
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
import idna

EMAIL_UNSUPPORTED = "email_unsupported"
EMAIL_MAX_LENGTH = 254  # the email column
# Reject longer input before any Unicode work. Generous: mappings can shrink the input a little
# (UTS #46 drops soft hyphens, for example), but nothing legitimate is four times the column.
RAW_INPUT_MAX_LENGTH = 4 * EMAIL_MAX_LENGTH

# Writing systems whose characters may share a label (see rule 6 in the module docstring).
ALLOWED_SCRIPT_MIXES = (
    frozenset({"HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"HAN", "HANGUL"}),
    frozenset({"HAN", "BOPOMOFO"}),
)
# First words of character names that do not name the character's script.
SCRIPT_ALIASES = {
    "CJK": "HAN",  # CJK UNIFIED IDEOGRAPH-4E00
    "IDEOGRAPHIC": "HAN",  # IDEOGRAPHIC ITERATION MARK
    "HENTAIGANA": "HIRAGANA",
    "KATAKANA-HIRAGANA": "KATAKANA",  # the prolonged sound mark, used in both kana
    "ARABIC-INDIC": "ARABIC",  # ARABIC-INDIC DIGIT ZERO
    "EXTENDED": "ARABIC",  # EXTENDED ARABIC-INDIC DIGIT ZERO (Persian digits)
}
# Characters that take the script of their neighbours: combining accents and the ASCII digits.
SCRIPT_NEUTRAL = frozenset({"COMBINING", "DIGIT"})


def unsupported(message: str) -> ValidationError:
    return ValidationError(message, code=EMAIL_UNSUPPORTED)


def character_script(character: str) -> str:
    """The writing system of a letter, mark or digit, from the first word of its Unicode name."""
    first_word = unicodedata.name(character, "").split(" ", 1)[0]
    return SCRIPT_ALIASES.get(first_word, first_word)


def label_scripts(label: str) -> frozenset[str]:
    """The writing systems of a domain label's letters, marks and digits (hyphens and the like carry none).

    Raises `email_unsupported` for a character Python's Unicode database does not know."""
    scripts = set()
    for character in label:
        category = unicodedata.category(character)
        if category == "Cn":
            raise unsupported(_("The domain of this email address uses a character we cannot check."))
        if category[0] in "LMN":
            script = character_script(character)
            if script not in SCRIPT_NEUTRAL:
                scripts.add(script)
    return frozenset(scripts)


def check_label_scripts(label: str) -> None:
    scripts = label_scripts(label)
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in ALLOWED_SCRIPT_MIXES):
        raise unsupported(_("The domain of this email address mixes letters of different alphabets "
                            "(for example Latin with Cyrillic or Greek). Please type it in one alphabet."))


@functools.lru_cache(maxsize=1024)
def canonical_domain(domain: str) -> str:
    """The ASCII (A-label) form of a domain, lower-cased, after IDNA 2008 / UTS #46 and the script check.

    Remembered for the most recent domains: IDNA processing is the costliest step of a login outside the
    password hash (about 0.2 ms, three times a login), and a few providers' domains are most logins. The
    input is capped before it gets here; a refused domain raises and is not remembered."""
    try:
        ascii_domain = idna.encode(domain, uts46=True, std3_rules=True).decode("ascii").lower()
        unicode_labels = idna.decode(ascii_domain).split(".")
    except UnicodeError:  # idna.IDNAError and its subclasses (InvalidCodepoint...) are UnicodeErrors
        raise unsupported(_("The domain of this email address is not a valid domain name.")) from None
    if ascii_domain.endswith("."):
        # "example.com." is the same domain as "example.com": one spelling only.
        raise unsupported(_("The domain of this email address must not end with a dot."))
    for label in unicode_labels:
        check_label_scripts(label)
    return ascii_domain


# RFC 5322 dot-atom: atext runs separated by single dots.
DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def _unquoted(local: str) -> str:
    """A quoted local part names the same mailbox as its unquoted content (RFC 5321 §2.4: `"alice"` is
    `alice`), so `"alice"@example.com` must not be a second account next to alice@example.com. Quoted
    content that is a plain dot-atom is unquoted; any other quoted form (spaces, escapes) is refused,
    since which unquoted spellings it equals is not something we can settle safely."""
    if not local.startswith('"'):
        return local
    content = local[1:-1] if len(local) >= 2 and local.endswith('"') else ""
    if "\\" not in content and DOT_ATOM.fullmatch(content):
        return content
    raise unsupported(_("Quoted email addresses are not supported; enter the address without quotes."))


def canonical_email(raw: str) -> str:
    """The canonical form of an email address (the rule is in the module docstring).

    Raises ValidationError (code `email_unsupported`) for an address that has none."""
    if not isinstance(raw, str):
        raise unsupported(_("Enter an email address."))
    address = raw.strip()
    if len(address) > RAW_INPUT_MAX_LENGTH:
        raise unsupported(_("This email address is too long."))
    address = unicodedata.normalize("NFKC", address)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise unsupported(_("Enter an email address with a name, an @ and a domain."))
    if not local.isascii():
        raise unsupported(_("The part of this email address before the @ must use only ASCII characters "
                            "(A-Z, a-z, digits and punctuation); we cannot tell such addresses apart safely."))
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in local):
        raise unsupported(_("This email address contains control characters."))
    local = _unquoted(local)
    canonical = f"{local}@{canonical_domain(domain)}"
    if len(canonical) > EMAIL_MAX_LENGTH:
        raise unsupported(_("This email address is longer than %(max_length)d characters once its domain "
                            "is written in ASCII.") % {"max_length": EMAIL_MAX_LENGTH})
    return canonical


def canonical_email_or_none(raw: Any) -> str | None:
    """For look-ups: an address with no canonical form cannot belong to any account."""
    try:
        return canonical_email(raw)
    except ValidationError:
        return None


def email_identity(raw: Any) -> str | None:
    """The one key for per-account counters (rate limits, login failures): every spelling of an address
    that reaches the same account gives the same key, so look-alikes share one budget. Text with no
    canonical form still gets a key of its own per spelling (case-folded)."""
    if not isinstance(raw, str):
        return None
    canonical = canonical_email_or_none(raw)
    return canonical.lower() if canonical is not None else raw.strip().casefold()


# --- existing rows: what to rewrite, what to report -----------------------------------------------------
@dataclass(frozen=True)
class StoredAddress:
    pk: Any
    email: str
    canonical: str | None  # None: it has no canonical form
    problem: str = ""  # why not, for the report


@dataclass
class EmailCanonicalisationPlan:
    """`updates`: rows whose canonical form differs from the stored one and collides with nothing; they
    are rewritten. `collisions`: for each case-insensitive canonical key shared by several rows (or equal
    to another row's stored address), all those rows; none is changed. `unsupported`: rows with no
    canonical form; left as they are."""

    checked: int = 0
    updates: list[StoredAddress] = field(default_factory=list)
    collisions: dict[str, list[StoredAddress]] = field(default_factory=dict)
    unsupported: list[StoredAddress] = field(default_factory=list)

    @property
    def has_problems(self) -> bool:
        return bool(self.collisions or self.unsupported)


def plan_email_canonicalisation(rows: Iterable[Mapping[str, Any]]) -> EmailCanonicalisationPlan:
    """Decide, for rows of {"pk", "email"}, which addresses to rewrite and which to report. Pure: reads
    only its argument and never touches the database, so the migration and the command agree."""
    plan = EmailCanonicalisationPlan()
    by_canonical_key: dict[str, list[StoredAddress]] = defaultdict(list)
    by_stored_key: dict[str, list[StoredAddress]] = defaultdict(list)
    for row in rows:
        plan.checked += 1
        email = row["email"]
        try:
            stored = StoredAddress(row["pk"], email, canonical_email(email))
        except ValidationError as error:
            stored = StoredAddress(row["pk"], email, None, problem=" ".join(error.messages))
            plan.unsupported.append(stored)
        else:
            by_canonical_key[stored.canonical.lower()].append(stored)
        # Python lower-cases like the unique index does on PostgreSQL (the Kelvin sign becomes "k"),
        # so a rewrite is never allowed to land on what the index would call the same address.
        by_stored_key[email.lower()].append(stored)

    for key, group in by_canonical_key.items():
        changing = [stored for stored in group if stored.canonical != stored.email]
        if not changing:
            continue
        others = {stored.pk: stored for stored in (*group, *by_stored_key.get(key, ()))}
        if len(others) > 1:
            plan.collisions[key] = sorted(others.values(), key=lambda stored: str(stored.pk))
        else:
            plan.updates.extend(changing)
    return plan


def shown(email: str) -> str:
    """An address for an ASCII-only report: look-alike characters are written as escapes
    (mallory@\\uff45xample.com), so the reader sees the difference and no console can fail to print it."""
    return email if email.isascii() and email.isprintable() else email.encode("unicode_escape").decode("ascii")


def email_report_lines(plan: EmailCanonicalisationPlan, *, applied: bool) -> list[str]:
    """The report, as ASCII lines. `applied`: the updates were made (the migration), or would be (the command)."""
    lines = [f"Email canonical form: checked {plan.checked} user(s)."]
    if plan.updates:
        lines.append(f"Rewrote {len(plan.updates)} address(es) to their canonical form:" if applied else
                     f"Not in canonical form, no collision, safe to rewrite ({len(plan.updates)}):")
        lines += [f"  user {stored.pk}: {shown(stored.email)} -> {stored.canonical}" for stored in plan.updates]
    if plan.collisions:
        lines.append(f"COLLISIONS, left unchanged, resolve by hand ({len(plan.collisions)}): these accounts "
                     "are one address once canonicalised; lookups by email reach only a row stored in canonical "
                     "form, if any.")
        for key, group in sorted(plan.collisions.items()):
            lines.append(f"  canonical {key}:")
            lines += [f"    user {stored.pk}: {shown(stored.email)}"
                      + ("" if stored.canonical == stored.email else f" (canonical {stored.canonical or '-'})")
                      for stored in group]
    if plan.unsupported:
        lines.append(f"NO CANONICAL FORM, left unchanged, resolve by hand ({len(plan.unsupported)}): these "
                     "accounts cannot log in or reset by email until their address is changed.")
        lines += [f"  user {stored.pk}: {shown(stored.email)}: {stored.problem}" for stored in plan.unsupported]
    if not (plan.updates or plan.has_problems):
        lines.append("Every address is in canonical form; no collisions.")
    return lines


def mask_email(address: str) -> str:
    """Enough of an address for its owner to recognise it, not enough to read it: "a***@e***.org" (the notice
    of an address change to the old address)."""
    local, _, domain = address.rpartition("@")
    host, dot, tld = domain.rpartition(".")
    return f"{local[:1]}***@{host[:1]}***{dot}{tld}" if host else f"{local[:1]}***@{domain[:1]}***"
