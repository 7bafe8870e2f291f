"""The fresh-project proof: the package, installed as a stranger would, works in a new Django project.

1. Build the wheel from this checkout and install it, with gunicorn, in a new virtualenv (the versions held to
   requirements.txt's pins, which the package's ranges must admit; `--django 'django~=6.1.0' --python
   python3.12` for another Django series).
2. `django-admin startproject mysite`, then apply exactly the settings and URL snippets of docs/tutorial.md (read
   from that file, so the tutorial cannot drift from the package), `check`, `migrate`, `createsuperuser`.
3. Serve with gunicorn (two workers) beside `manage.py task_worker`, and over HTTP: register, verify with the
   link of the email the worker wrote to a file, log in, GET me, refresh, replay the old refresh token (401, and
   the new one is dead too: the family ended), log in again and log out (the access token dies with it), open
   the admin and log in to it.
4. A host app that takes the label `accounts` (`mysite.accounts`), and a top-level package `accounts` that hides
   the service's, each stop `manage.py check` with the clear error authcore.E011, not Django's.
5. The `connections` and `mfa` apps without their extras stop with an error that names the extra; with it,
   migrate and check pass.

Run: `make fresh-project` (or `python packaging/fresh_project.py [--keep]`). Needs the package index (or pip's
cache) for the dependencies; uses a free port on 127.0.0.1 and a temporary directory.
"""
import argparse
import base64
from email import message_from_bytes
from email.policy import default as default_policy
import http.cookiejar
import json
import os
from pathlib import Path
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from hatch_build import CATALOG_APPS, LOCALES  # noqa: E402  (what the wheel must carry compiled)

TUTORIAL = ROOT / "docs" / "tutorial.md"
SNIPPET = re.compile(r"<!-- snippet: (?P<name>\w+) -->\n```python\n(?P<code>.*?)```", re.S)
# The tutorial's own example password, read from its register command: the reader's copy must be accepted too.
TUTORIAL_PASSWORD = re.compile(r"/api/auth/register/.*?\"password\": \"(?P<password>[^\"]+)\"", re.S)
ADMIN_PASSWORD = "silver lantern over a quiet harbour"


def step(text: str) -> None:
    print(f"--- {text}", flush=True)


def run(*args, cwd: Path, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=600)
    if check and result.returncode != 0:
        sys.exit(f"FAILED: {' '.join(map(str, args))}\n{result.stdout}\n{result.stderr}")
    return result


def tutorial_password() -> str:
    match = TUTORIAL_PASSWORD.search(TUTORIAL.read_text())
    if not match:
        sys.exit("FAILED: docs/tutorial.md has no register command with a password")
    return match["password"]


def snippets() -> dict[str, str]:
    found = {match["name"]: match["code"] for match in SNIPPET.finditer(TUTORIAL.read_text())}
    missing = {"settings", "urls"} - found.keys()
    if missing:
        sys.exit(f"FAILED: docs/tutorial.md has no snippet marked {', '.join(sorted(missing))}")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def install(work: Path, python: str, django: str | None) -> tuple[Path, Path]:
    step(f"build the wheel and install it in a new virtualenv ({python}, {django or 'the pinned Django'})")
    env = dict(os.environ)
    # The sdist first and the wheel from it, as `make dist` does: what ships is what the sdist holds, never a stray
    # file of the working tree.
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", work / "dist", ROOT, cwd=ROOT, env=env)
    wheel = next((work / "dist").glob("django_auth_service-*.whl"))
    check_wheel_contents(wheel)
    venv = work / "venv"
    run(python, "-m", "venv", venv, cwd=work, env=env)
    run(venv / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check", "-c", constraints(work, django),
        wheel, "gunicorn", *([django] if django else []), cwd=work, env=env)
    return venv, wheel


def constraints(work: Path, django: str | None) -> Path:
    """requirements.txt's pins, less the Django pin when another Django series is asked for."""
    pins = (ROOT / "requirements.txt").read_text().splitlines()
    if django:
        pins = [line for line in pins if not line.lower().startswith("django==")]
    path = work / "constraints.txt"
    path.write_text("\n".join(pins) + "\n")
    return path


def check_wheel_contents(wheel: Path) -> None:
    """The five apps with what they need at run time; nothing of the host project, the benchmarks or the tests."""
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    if tops != {"authcore", "accounts", "sessions_app", "connections", "mfa"}:
        sys.exit(f"FAILED: the wheel's top-level packages are {sorted(tops)}")
    needed = ["accounts/migrations/0001_initial.py", "sessions_app/migrations/0001_initial.py",
              "accounts/templates/accounts/register.html", "accounts/templates/accounts/emails/verify_email.txt",
              "authcore/templates/authcore/base.html", "authcore/static/authcore/pages.css",
              "accounts/data/common-passphrases.txt.gz", "mfa/migrations/0001_initial.py",
              "mfa/templates/mfa/manage.html", "accounts/static/accounts/security-keys.js",
              # the compiled catalogs (hatch_build.py), which Django reads: the .po files alone translate nothing
              *(f"{app}/locale/{language}/LC_MESSAGES/django.mo" for app in CATALOG_APPS for language in LOCALES)]
    missing = [name for name in needed if name not in names]
    shipped_tests = [name for name in names if "/tests/" in name or name.endswith("/testing.py")]
    if missing or shipped_tests:
        sys.exit(f"FAILED: the wheel misses {missing} or ships test code {shipped_tests[:5]}")


def make_project(work: Path, venv: Path, env: dict) -> Path:
    step("startproject, then the tutorial's settings and URL snippets")
    run(venv / "bin" / "django-admin", "startproject", "mysite", cwd=work, env=env)
    project = work / "mysite"
    code = snippets()
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + "\n" + code["settings"])
    (project / "mysite" / "urls.py").write_text(code["urls"])
    python = venv / "bin" / "python"
    run(python, "manage.py", "check", "--fail-level", "WARNING", cwd=project, env=env)
    run(python, "manage.py", "migrate", "--noinput", cwd=project, env=env)
    run(python, "manage.py", "createsuperuser", "--noinput", cwd=project, env=env)
    return project


class Client:
    def __init__(self, base: str):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(self, method: str, path: str, body=None, token: str | None = None, form: dict | None = None,
                headers: dict | None = None):
        headers = dict(headers or {})
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = self.base + path
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=30) as response:
                self.last_headers = response.headers
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            self.last_headers = error.headers
            return error.code, error.read().decode()

    def json(self, method: str, path: str, body=None, token: str | None = None, expect: int = 200) -> dict:
        status, text = self.request(method, path, body, token)
        if status != expect:
            sys.exit(f"FAILED: {method} {path} answered {status}, expected {expect}: {text[:500]}")
        return json.loads(text) if text else {}

    def cookie(self, name: str) -> str:
        return next(cookie.value for cookie in self.cookies if cookie.name == name)


def wait_until_up(client: Client, processes: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            sys.exit("FAILED: gunicorn or the task worker stopped at start-up")
        try:
            status, _ = client.request("GET", "/admin/login/")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    sys.exit("FAILED: gunicorn did not answer within 60 s")


def emailed_link(mail_dir: Path, path_prefix: str) -> str:
    """The link under path_prefix in the first email the worker wrote to a file (the file backend)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for file in sorted(mail_dir.glob("*.log")):
            body = message_from_bytes(file.read_bytes(), policy=default_policy).get_body(preferencelist=("plain",))
            if body is None:
                continue  # still being written
            match = re.search(r"https?://\S+" + re.escape(path_prefix) + r"(\S+?)/\s", body.get_content())
            if match:
                return match.group(1)
        time.sleep(0.3)
    sys.exit(f"FAILED: no email with a {path_prefix} link in {mail_dir} within 60 s")


def new_signing_key() -> dict:
    """What `manage.py make_signing_key` prints: a private P-256 key as a JWK (made here, before the project exists)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm
    return {**json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()))), "alg": "ES256"}


def check_with_the_public_keys(client: Client, access: str) -> None:
    """What another service does: verify the access token with the JWKS alone (PyJWT)."""
    import jwt
    keys = {key["kid"]: key for key in client.json("GET", "/.well-known/jwks.json")["keys"]}
    header = jwt.get_unverified_header(access)
    published = keys[header["kid"]]
    # The algorithm is the published key's, never the token's choice.
    claims = jwt.decode(access, jwt.PyJWK(published).key, algorithms=[published["alg"]], audience="mysite")
    assert published["alg"] == "ES256" and claims["token_type"] == "access", (published, claims)
    print(f"    access token verified with the JWKS alone (kid {header['kid'][:8]}...)")


def walk_the_flow(client: Client, project: Path) -> None:
    step("register, verify from the emailed link, log in, me, refresh, replay, log out")
    email, password = "ada@example.com", tutorial_password()
    client.json("POST", "/api/auth/register/", {"email": email, "password": password}, expect=202)
    token = emailed_link(project / "sent-emails", "/accounts/verify-email/")
    client.json("POST", "/api/auth/verify-email/", {"token": token})
    login = client.json("POST", "/api/auth/login/", {"email": email, "password": password})
    me = client.json("GET", "/api/auth/me/", token=login["access"])
    assert me["email"] == email and me["email_verified"] is True, me
    check_with_the_public_keys(client, login["access"])
    renewed = client.json("POST", "/api/auth/refresh/", {"refresh": login["refresh"]})
    client.json("GET", "/api/auth/me/", token=renewed["access"])
    replay = client.json("POST", "/api/auth/refresh/", {"refresh": login["refresh"]}, expect=401)
    print(f"    replayed refresh token: 401 {replay['code']}")
    client.json("POST", "/api/auth/refresh/", {"refresh": renewed["refresh"]}, expect=401)
    client.json("GET", "/api/auth/me/", token=renewed["access"], expect=401)
    second = client.json("POST", "/api/auth/login/", {"email": email, "password": password})
    client.json("POST", "/api/auth/logout/", {"refresh": second["refresh"]}, token=second["access"], expect=204)
    client.json("GET", "/api/auth/me/", token=second["access"], expect=401)
    client.json("POST", "/api/auth/refresh/", {"refresh": second["refresh"]}, expect=401)


def speak_the_readers_language(client: Client) -> None:
    step("languages: an API error in German by Accept-Language, the sign-up page in Arabic, right to left")
    status, text = client.request("GET", "/api/auth/me/", headers={"Accept-Language": "de"})
    body = json.loads(text)
    if (status, body.get("code"), client.last_headers.get("Content-Language")) != (401, "not_authenticated", "de") \
            or body.get("detail") == "Authentication credentials were not provided.":
        sys.exit(f"FAILED: the German API error answered {status} {client.last_headers.get('Content-Language')}: "
                 f"{text[:300]}")
    print(f"    401 not_authenticated in German: {body['detail']}")
    status, page = client.request("GET", "/accounts/register/", headers={"Accept-Language": "ar"})
    if status != 200 or '<html lang="ar" dir="rtl">' not in page or "Create an account" in page:
        sys.exit(f"FAILED: the Arabic sign-up page answered {status}: {page[:300]}")


def use_the_account_pages(base: str) -> None:
    step("the account pages: sign in in a browser, see the session, sign out")
    browser = Client(base)  # a cookie jar of its own: the browser
    status, page = browser.request("GET", "/accounts/")
    if status != 200 or 'name="password"' not in page:  # followed to the sign-in page
        sys.exit(f"FAILED: the account home did not lead to the sign-in page: {status} {page[:300]}")
    status, page = browser.request("POST", "/accounts/login/", form={
        "csrfmiddlewaretoken": browser.cookie("csrftoken"), "email": "ada@example.com",
        "password": tutorial_password(), "next": "/accounts/sessions/"})
    if status != 200 or "This browser" not in page:
        sys.exit(f"FAILED: signing in on the page answered {status}: {page[:500]}")
    status, page = browser.request("POST", "/accounts/logout/",
                                   form={"csrfmiddlewaretoken": browser.cookie("csrftoken")})
    if status != 200 or "You are signed out." not in page:
        sys.exit(f"FAILED: signing out answered {status}: {page[:300]}")
    status, page = browser.request("GET", "/accounts/sessions/")
    if status != 200 or 'name="password"' not in page:
        sys.exit(f"FAILED: after signing out the sessions page answered {status}: {page[:300]}")


def open_the_admin(client: Client) -> None:
    step("the admin: log in as the superuser and see the sessions")
    status, _ = client.request("GET", "/admin/login/")
    assert status == 200, status
    status, page = client.request("POST", "/admin/login/?next=/admin/", form={
        "csrfmiddlewaretoken": client.cookie("csrftoken"), "username": "operator@example.com",
        "password": ADMIN_PASSWORD, "next": "/admin/"})
    if status != 200 or "Site administration" not in page:
        sys.exit(f"FAILED: the admin login answered {status}: {page[:500]}")
    status, page = client.request("GET", "/admin/sessions_app/session/")
    if status != 200 or "ada@example.com" not in page:
        sys.exit(f"FAILED: the admin's session list answered {status} without the user's session")


def serve_and_walk(project: Path, venv: Path, env: dict) -> None:
    port = free_port()
    env = {**env, "SITE_URL": f"http://127.0.0.1:{port}"}
    step(f"serve with gunicorn on 127.0.0.1:{port}, and the task worker")
    with open(project / "gunicorn.log", "w") as server_log, open(project / "worker.log", "w") as worker_log:
        server = subprocess.Popen([venv / "bin" / "gunicorn", "mysite.wsgi", "--bind", f"127.0.0.1:{port}",
                                   "--workers", "2"], cwd=project, env=env, stdout=subprocess.DEVNULL,
                                  stderr=server_log)
        worker = subprocess.Popen([venv / "bin" / "python", "manage.py", "task_worker", "--interval", "0.2"],
                                  cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=worker_log)
        try:
            walk_over_http(project, port, [server, worker])
        finally:
            for process in (server, worker):
                stop(process)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def walk_over_http(project: Path, port: int, processes: list[subprocess.Popen]) -> None:
    try:
        client = Client(f"http://127.0.0.1:{port}")
        wait_until_up(client, processes)
        walk_the_flow(client, project)
        speak_the_readers_language(client)
        use_the_account_pages(client.base)
        open_the_admin(client)
    except BaseException:
        print((project / "gunicorn.log").read_text()[-3000:], (project / "worker.log").read_text()[-3000:])
        raise


def clashing_apps_stop_with_a_clear_error(project: Path, venv: Path, env: dict) -> None:
    step("a host app labelled 'accounts', and a package 'accounts' that hides the service's: authcore.E011")
    python = venv / "bin" / "python"
    host_app = project / "mysite" / "accounts"  # mysite.accounts: its label is "accounts" too
    host_app.mkdir()
    (host_app / "__init__.py").write_text("")
    (host_app / "apps.py").write_text("from django.apps import AppConfig\n\n\nclass AccountsConfig(AppConfig):\n"
                                      '    name = "mysite.accounts"\n')
    (project / "mysite" / "settings_clash.py").write_text(
        'from .settings import *  # noqa: F403\n\nINSTALLED_APPS = [*INSTALLED_APPS, "mysite.accounts"]\n')
    labelled = run(python, "manage.py", "check", cwd=project, check=False,
                   env={**env, "DJANGO_SETTINGS_MODULE": "mysite.settings_clash"})
    expect_clear_error(labelled, "has the label 'accounts'")
    shutil.rmtree(project / "mysite" / "accounts")
    # A project that had its own top-level `accounts` before adding the service (startapp now refuses the name,
    # since the service's module exists): ./accounts is first on the import path and hides the service's.
    (project / "accounts").mkdir()
    (project / "accounts" / "__init__.py").write_text("")
    hidden = run(python, "manage.py", "check", cwd=project, env=env, check=False)
    expect_clear_error(hidden, "hides it")
    shutil.rmtree(project / "accounts")


def app_needs_its_extra(project: Path, venv: Path, env: dict, wheel: Path, *, app: str, settings: str = "") -> None:
    """An optional app without its extra: a clear error naming it; with it, migrate and check pass (`settings`: what
    the app needs besides INSTALLED_APPS)."""
    step(f"the {app} app: without the [{app}] extra a clear error, with it the project checks clean")
    python = venv / "bin" / "python"
    (project / "mysite" / f"settings_{app}.py").write_text(
        f'import os\n\nfrom .settings import *  # noqa: F403\n\n'
        f'INSTALLED_APPS = [*INSTALLED_APPS, "{app}"]\n{settings}')
    env = {**env, "DJANGO_SETTINGS_MODULE": f"mysite.settings_{app}"}
    without = run(python, "manage.py", "check", cwd=project, env=env, check=False)
    output = without.stdout + without.stderr
    if without.returncode == 0 or f"pip install 'django-auth-service[{app}]'" not in output:
        sys.exit(f"FAILED: {app} without its extra: exit {without.returncode}\n{output}")
    run(venv / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check", "-c",
        project.parent / "constraints.txt", f"{wheel}[{app}]", cwd=project, env=env)
    run(python, "manage.py", "migrate", "--noinput", cwd=project, env=env)
    run(python, "manage.py", "check", "--fail-level", "WARNING", cwd=project, env=env)


def expect_clear_error(result: subprocess.CompletedProcess, words: str) -> None:
    output = result.stdout + result.stderr
    if result.returncode == 0 or "authcore.E011" not in output or words not in output:
        sys.exit(f"FAILED: expected the authcore.E011 error ({words!r}), got exit {result.returncode}:\n{output}")
    if "Application labels aren't unique" in output:
        sys.exit(f"FAILED: Django's own error came before the service's:\n{output}")
    print("    " + next(line for line in output.splitlines() if "authcore.E011" in line).strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="Keep the temporary directory (its path is printed).")
    parser.add_argument("--python", default=sys.executable, help="The new virtualenv's interpreter.")
    parser.add_argument("--django", help="Another Django than the pinned one, as a requirement ('django~=6.1.0').")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fresh-project-"))
    print(f"working in {work}")
    try:
        venv, wheel = install(work, args.python, args.django)
        env = {key: value for key, value in os.environ.items()
               if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "ENV_FILE", "PYTHONPATH"}}
        env.update({"JWT_SIGNING_KEYS": json.dumps([new_signing_key()]),
                    "DJANGO_SUPERUSER_EMAIL": "operator@example.com",
                    "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD, "PYTHONDONTWRITEBYTECODE": "1"})
        project = make_project(work, venv, env)
        serve_and_walk(project, venv, env)
        clashing_apps_stop_with_a_clear_error(project, venv, env)
        app_needs_its_extra(project, venv, env, wheel, app="connections")
        app_needs_its_extra(project, venv, {**env, "MFA_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32))
                                            .decode().rstrip("=")}, wheel, app="mfa",
                            settings='MFA = {"ENCRYPTION_KEYS": [os.environ["MFA_ENCRYPTION_KEYS"]]}\n')
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("fresh-project proof: passed")


if __name__ == "__main__":
    main()
