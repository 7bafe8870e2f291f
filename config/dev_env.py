"""Print the settings of a development checkout, for `make run` to keep in the git-ignored `.env` that
config/settings.py reads: DEBUG on and random secrets of their own (never the published placeholders), so
every manage.py command works without typing them. Not for a deployment, which sets real variables."""
import json
import secrets

from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm


def development_env() -> str:
    # The key that signs access tokens: what `manage.py make_signing_key` prints (settings are not loaded here).
    signing_key = {**json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()))), "alg": "ES256"}
    return (f"DEBUG=true\n"
            f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
            f"JWT_SIGNING_KEY={secrets.token_urlsafe(48)}\n"
            f"JWT_SIGNING_KEYS='{json.dumps([signing_key], separators=(',', ':'))}'\n")


if __name__ == "__main__":
    print(development_env(), end="")
