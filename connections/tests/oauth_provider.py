"""A real OAuth 2.0 / OpenID Connect provider for the connections tests: django-oauth-toolkit serving the small
Django project in connections/tests/provider from gunicorn on a loopback port, with its own SQLite database,
one resource owner and one confidential client.

    provider = OAuthProvider.start(["http://testserver/callback"])
    try:
        ...  # provider.authorization_endpoint, provider.authorize(url), provider.token_requests(), ...
    finally:
        provider.stop()

or `with OAuthProvider.start(...) as provider:`. Everything runs in child processes that are stopped by PID."""
import atexit
from contextlib import suppress
from html.parser import HTMLParser
import json
import os
from pathlib import Path
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import ClassVar
from urllib.parse import urljoin

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
import requests

from authcore.testing import free_port

PROVIDER_ROOT = Path(__file__).resolve().parent / "provider"
PROVIDER_SETTINGS = "provider_site.settings"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 10.0


class ProviderError(RuntimeError):
    """The provider did not start, or a page did not look as the harness expects."""


class _Forms(HTMLParser):
    """The forms of a page: their attributes and the inputs a browser would submit."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"attrs": values, "inputs": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"].append(values)
        elif tag == "a" and "href" in values:
            self.links.append(values["href"])


def _parse(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    parser.close()
    return parser


def _child_pids(parent: int) -> list[int]:
    """PIDs whose parent is `parent` (gunicorn's workers), from /proc."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may contain spaces; the parent PID is the second field after it.
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            children.append(int(entry))
    return children


def _signal(pid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signum)


class OAuthProvider:
    """django-oauth-toolkit in a gunicorn process of its own (one worker, eight threads) on 127.0.0.1.

    Settings that matter to a client: authorization code grant only, PKCE (S256) required, confidential client
    (client_secret_basic or client_secret_post), refresh tokens rotate on every use with no grace period and
    reuse protection (replaying a rotated-out refresh token revokes the whole family), OpenID Connect with
    RS256 ID tokens, scopes openid/read/write, `iss` added to successful authorization responses (RFC 9207)."""

    username = "carol"
    # Migrating takes seconds; the first provider of a test process leaves its freshly migrated, still empty
    # database here and later ones start from a copy.
    _template: ClassVar[Path | None] = None

    def __init__(self, redirect_uris: list[str], access_token_seconds: int = 3600,
                 rotate_refresh_tokens: bool = True) -> None:
        self.redirect_uris = list(redirect_uris)
        self.access_token_seconds = access_token_seconds
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.password = secrets.token_urlsafe(16)
        self.client_secret = secrets.token_urlsafe(32)
        self.client_id = ""
        self.secret_key = secrets.token_urlsafe(50)
        self.process: subprocess.Popen | None = None
        self.directory = Path(tempfile.mkdtemp(prefix="oauth-provider-"))
        self.database = self.directory / "provider.sqlite3"
        self.token_log = self.directory / "token-requests.jsonl"
        self.server_log = self.directory / "gunicorn.log"
        self.key_file = self.directory / "oidc-key.pem"
        self._workers: list[int] = []
        self._set_port(free_port())

    @classmethod
    def start(cls, redirect_uris: list[str], access_token_seconds: int = 3600,
              rotate_refresh_tokens: bool = True) -> "OAuthProvider":
        """A running provider: database migrated, user and client created, gunicorn answering. The caller
        must call stop() (or use the provider as a context manager). `rotate_refresh_tokens=False`: a
        refresh answers without a refresh token, the first one staying valid (providers that keep one
        refresh token for the grant's life)."""
        provider = cls(redirect_uris, access_token_seconds, rotate_refresh_tokens)
        try:
            provider._write_signing_key()
            provider._launch()  # gunicorn boots while the database is prepared; nothing reaches it before
            provider._bootstrap()
            provider._wait_until_serving()
        except BaseException:
            provider.stop()
            raise
        return provider

    def __enter__(self) -> "OAuthProvider":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _set_port(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.issuer = f"{self.base_url}/o"
        self.authorization_endpoint = f"{self.base_url}/o/authorize/"
        self.token_endpoint = f"{self.base_url}/o/token/"
        self.revocation_endpoint = f"{self.base_url}/o/revoke_token/"
        self.introspection_endpoint = f"{self.base_url}/o/introspect/"
        self.userinfo_endpoint = f"{self.base_url}/o/userinfo/"
        self.jwks_uri = f"{self.base_url}/o/.well-known/jwks.json"
        self.discovery_url = f"{self.base_url}/o/.well-known/openid-configuration"
        self.metadata_url = f"{self.base_url}/o/.well-known/oauth-authorization-server"
        self.resource_url = f"{self.base_url}/api/me/"
        self.login_url = f"{self.base_url}/accounts/login/"
        self.authorized_tokens_url = f"{self.base_url}/o/authorized_tokens/"

    # --- processes -------------------------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        """The child's environment: the provider's settings and nothing of the host project's."""
        env = {key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")}
        env.update({
            "DJANGO_SETTINGS_MODULE": PROVIDER_SETTINGS,
            "PYTHONPATH": str(PROVIDER_ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",  # keep the source tree clean
            "PROVIDER_SECRET_KEY": self.secret_key,
            "PROVIDER_DATABASE": str(self.database),
            "PROVIDER_OIDC_KEY_FILE": str(self.key_file),
            "PROVIDER_ISSUER": self.issuer,
            "PROVIDER_ACCESS_TOKEN_SECONDS": str(self.access_token_seconds),
            "PROVIDER_TOKEN_LOG": str(self.token_log),
            "PROVIDER_KEEP_REFRESH_TOKEN": "false" if self.rotate_refresh_tokens else "true",
        })
        return env

    def _write_signing_key(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_file.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    def _bootstrap(self) -> None:
        seed = {"username": self.username, "password": self.password, "client_secret": self.client_secret,
                "redirect_uris": self.redirect_uris, "migrate": True, "template": ""}
        template = OAuthProvider._template
        if template is not None and template.exists():
            shutil.copyfile(template, self.database)
            seed["migrate"] = False
        else:
            template = Path(tempfile.mkdtemp(prefix="oauth-provider-template-")) / "migrated.sqlite3"
            atexit.register(shutil.rmtree, template.parent, ignore_errors=True)
            seed["template"] = str(template)
        # The working directory is the temporary one: `python -m` puts it first on sys.path.
        result = subprocess.run(
            [sys.executable, "-m", "provider_site.bootstrap", json.dumps(seed)],
            cwd=self.directory, env=self._environment(), capture_output=True, text=True, timeout=120,
        )
        if result.returncode != 0:
            raise ProviderError(f"provider bootstrap failed:\n{result.stdout}\n{result.stderr}")
        self.client_id = json.loads(result.stdout.strip().splitlines()[-1])["client_id"]
        if seed["template"]:
            OAuthProvider._template = template

    def _wait_until_serving(self) -> None:
        for _ in range(3):
            if self._wait_until_answering():
                self._workers = _child_pids(self.process.pid)
                return
            if self.process.poll() is None:
                break  # running but silent: another try would not help
            self._set_port(free_port())  # most likely another process took the port in the meantime
            self._launch()
        log = self.server_log.read_text() if self.server_log.exists() else ""
        raise ProviderError(f"the provider did not answer at {self.base_url}:\n{log[-4000:]}")

    def _launch(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "provider_site.wsgi:application",
             "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--threads", "8",
             "--timeout", "0",  # a paused worker must not be killed for missing heartbeats
             "--graceful-timeout", "2", "--no-control-socket",
             "--error-logfile", str(self.server_log), "--log-level", "warning"],
            cwd=self.directory, env=self._environment(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )

    def _wait_until_answering(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if requests.get(self.discovery_url, timeout=1).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def _pids(self) -> list[int]:
        """The master and its workers (current ones, and the ones seen at start)."""
        if self.process is None or self.process.poll() is not None:
            return []
        return [self.process.pid, *sorted(set(self._workers) | set(_child_pids(self.process.pid)))]

    def pause(self) -> None:
        """SIGSTOP master and workers: the listening socket still accepts connections, nothing answers."""
        for pid in self._pids():
            _signal(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in reversed(self._pids()):
            _signal(pid, signal.SIGCONT)

    def stop(self) -> None:
        """Terminates gunicorn by PID (killing it after a timeout) and removes the temporary directory.
        Safe to call more than once, and after a failed start."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            workers = sorted(set(self._workers) | set(_child_pids(process.pid)))
            for pid in [process.pid, *workers]:
                _signal(pid, signal.SIGCONT)  # a paused process cannot act on a signal
            # Gunicorn's quick shutdown: a graceful one would linger on the clients' kept-alive connections.
            _signal(process.pid, signal.SIGQUIT)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
            for pid in workers:
                if self._is_our_worker(pid):
                    _signal(pid, signal.SIGKILL)
        shutil.rmtree(self.directory, ignore_errors=True)

    @staticmethod
    def _is_our_worker(pid: int) -> bool:
        try:
            return b"provider_site.wsgi" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    # --- the resource owner's browser ------------------------------------------------------------------------

    def _browser(self) -> requests.Session:
        """A browser of the resource owner's, logged in through the login form."""
        browser = requests.Session()
        page = browser.get(self.login_url, timeout=HTTP_TIMEOUT)
        page.raise_for_status()
        fields = self._form_fields(page, "login")
        fields.update({"username": self.username, "password": self.password})
        response = browser.post(self.login_url, data=fields, allow_redirects=False, timeout=HTTP_TIMEOUT)
        if response.status_code != 302:
            browser.close()
            raise ProviderError(f"login failed ({response.status_code}): {response.text[:1000]}")
        return browser

    @staticmethod
    def _form_fields(page: requests.Response, form_id: str) -> dict[str, str]:
        """What a browser submits from the form `form_id` before any button: its named, non-button inputs."""
        for form in _parse(page.text).forms:
            if form["attrs"].get("id") == form_id:
                return {field["name"]: field.get("value", "") for field in form["inputs"]
                        if field.get("name") and field.get("type", "text") not in ("submit", "button")}
        raise ProviderError(f"no form #{form_id} at {page.url} ({page.status_code}): {page.text[:1000]}")

    def authorize(self, authorization_url: str, *, approve: bool = True) -> str:
        """Plays the resource owner in a browser: logs in, opens `authorization_url`, approves or denies on
        the consent page and returns where the provider sends the browser (the client's redirect URI with
        code, state and iss, or with error=access_denied and state), without following it. An authorization
        request the provider rejects without redirecting raises ProviderError."""
        with self._browser() as browser:
            response = browser.get(authorization_url, allow_redirects=False, timeout=HTTP_TIMEOUT)
            consented = False
            for _ in range(10):
                if response.is_redirect:
                    location = urljoin(response.url, response.headers["Location"])
                    if not location.startswith(self.base_url + "/"):
                        return location
                    response = browser.get(location, allow_redirects=False, timeout=HTTP_TIMEOUT)
                    continue
                if consented or response.status_code != 200:
                    break
                fields = self._form_fields(response, "authorizationForm")
                if approve:
                    fields["allow"] = "Authorize"  # the submit button a browser sends; Cancel has no name
                response = browser.post(response.url, data=fields, allow_redirects=False, timeout=HTTP_TIMEOUT)
                consented = True
            raise ProviderError(f"no redirect to the client ({response.status_code} at {response.url}): "
                                f"{response.text[:1000]}")

    def revoke_grant(self) -> None:
        """As if the resource owner removed the app at the provider: revokes every token of theirs through
        django-oauth-toolkit's own "authorized tokens" page, which deletes each access token and revokes its
        refresh token. A later refresh gets invalid_grant; the access tokens stop working at once."""
        with self._browser() as browser:
            for _ in range(1000):
                listing = browser.get(self.authorized_tokens_url, timeout=HTTP_TIMEOUT)
                listing.raise_for_status()
                deletes = [link for link in _parse(listing.text).links if link.endswith("/delete/")]
                if not deletes:
                    return
                confirm_url = urljoin(listing.url, deletes[0])
                confirm = browser.get(confirm_url, timeout=HTTP_TIMEOUT)
                confirm.raise_for_status()
                forms = _parse(confirm.text).forms
                if not forms:
                    raise ProviderError(f"no confirmation form at {confirm_url}")
                fields = {field["name"]: field.get("value", "") for field in forms[0]["inputs"] if field.get("name")}
                response = browser.post(confirm_url, data=fields, allow_redirects=False, timeout=HTTP_TIMEOUT)
                if response.status_code != 302:
                    raise ProviderError(f"revoking at {confirm_url} failed ({response.status_code})")
            raise ProviderError("tokens keep appearing on the authorized tokens page")

    # --- observations --------------------------------------------------------------------------------------

    def accepts(self, access_token: str) -> bool:
        """Whether the protected resource takes this bearer token."""
        response = requests.get(self.resource_url, headers={"Authorization": f"Bearer {access_token}"},
                                timeout=HTTP_TIMEOUT)
        return response.status_code == 200

    def token_request_log(self) -> list[dict]:
        """Every request the token endpoint answered, oldest first: {"grant_type": ..., "status": ...}."""
        if not self.token_log.exists():
            return []
        lines = self.token_log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def token_requests(self, grant_type: str | None = None, *, status: int | None = None) -> int:
        """How many requests the token endpoint has answered: every grant, refused ones included, so a test
        can assert that exactly one refresh reached the provider. Narrow with `grant_type`
        ("authorization_code", "refresh_token") and `status` (200 for the grants that issued tokens)."""
        return sum(1 for entry in self.token_request_log()
                   if (grant_type is None or entry["grant_type"] == grant_type)
                   and (status is None or entry["status"] == status))


def serve_for_development() -> None:
    """`make oauth-provider`: a provider for trying connected accounts against `make run`. Prints the
    CONNECTIONS_PROVIDERS value that configures it as "local" (for `.env` or the environment) and the
    provider's user, then serves until interrupted."""
    site = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    provider = OAuthProvider.start([f"{site}/connections/local/callback/"])
    stop = []
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.append(True))
    try:
        # Its discovery document names no revocation endpoint (OpenID's rarely do): without this one, a
        # disconnect could only delete the tokens here.
        providers = {"local": {"client_id": provider.client_id, "client_secret": provider.client_secret,
                               "discovery_url": provider.discovery_url,
                               "revocation_url": provider.revocation_endpoint, "scopes": ["openid", "read"]}}
        print(f"CONNECTIONS_PROVIDERS={json.dumps(providers)}", flush=True)
        print(f"# Sign in at the provider as {provider.username} with the password {provider.password}; "
              f"Ctrl-C stops it.", flush=True)
        while not stop:
            time.sleep(0.2)
    finally:
        provider.stop()


if __name__ == "__main__":
    serve_for_development()
