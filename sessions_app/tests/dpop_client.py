"""A DPoP client (RFC 9449) built on a maintained JOSE library (joserfc): its own key pair, and proofs for requests."""
import base64
import hashlib
import secrets
import time
import warnings

from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey

SITE = "http://testserver"


class DPoPKey:
    def __init__(self, algorithm: str = "ES256") -> None:
        self.algorithm = algorithm
        self.key = ECKey.generate_key("P-256") if algorithm == "ES256" else OKPKey.generate_key("Ed25519")

    @property
    def public_jwk(self) -> dict:
        return self.key.as_dict(private=False)

    @property
    def thumbprint(self) -> str:
        return self.key.thumbprint()

    def proof(self, method: str, path: str, *, access_token: str | None = None, nonce: str | None = None,
              header: dict | None = None, **claims) -> str:
        """A proof for `method` on SITE + `path` (bound to `access_token`), made now, with a jti of its own;
        `header` and `claims` override what a proper client would send."""
        body = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": SITE + path, "iat": int(time.time())}
        if access_token is not None:
            digest = hashlib.sha256(access_token.encode()).digest()
            body["ath"] = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        if nonce is not None:
            body["nonce"] = nonce
        protected = {"typ": "dpop+jwt", "alg": self.algorithm, "jwk": self.public_jwk, **(header or {})}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # joserfc: "EdDSA is deprecated via RFC 9864" (the name, not the curve)
            return jwt.encode(protected, {**body, **claims}, self.key, algorithms=[self.algorithm])

    def headers(self, method: str, path: str, *, access_token: str | None = None, **options) -> dict:
        """The request's headers: the proof, and for a resource request the token as `DPoP`."""
        headers = {"HTTP_DPOP": self.proof(method, path, access_token=access_token, **options)}
        if access_token is not None:
            headers["HTTP_AUTHORIZATION"] = f"DPoP {access_token}"
        return headers
