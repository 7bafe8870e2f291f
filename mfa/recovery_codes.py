"""Recovery codes: 16 characters of Crockford's base32 (80 random bits), shown as XXXX-XXXX-XXXX-XXXX, read back
forgivingly (any case, with or without dashes and spaces, O for 0 and I or L for 1), stored as SHA-256."""
import hashlib
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
LENGTH = 16
# Longest input looked at (a code with separators and spaces around it); anything longer is refused at once.
INPUT_MAX_LENGTH = 40
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, LENGTH, 4))


def normalise(code: str) -> str | None:
    if not isinstance(code, str) or len(code) > INPUT_MAX_LENGTH:
        return None
    cleaned = "".join(code.split()).replace("-", "").upper().translate(_READ_AS)
    return cleaned if len(cleaned) == LENGTH and all(char in ALPHABET for char in cleaned) else None


def code_hash(code: str) -> str | None:
    """The stored form of a code as typed, or None if it cannot be one."""
    cleaned = normalise(code)
    return hashlib.sha256(cleaned.encode()).hexdigest() if cleaned else None
