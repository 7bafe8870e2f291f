"""`make ses-emulator`: a local SES for development, moto's server on a loopback port, so the flows send real
emails through django-ses and boto3 without an AWS account (docs/how-to/ses-emulator.md).

SES refuses mail from a sender it has not verified (MessageRejected), so this verifies the address of
DEFAULT_FROM_EMAIL first, as an operator verifies it in SES. Then it prints the lines that point the service at
the emulator and, until Ctrl-C, every email the emulator receives. The emulator keeps everything in memory:
a new start verifies the sender again and begins with no emails."""
import argparse
from email import message_from_string, policy
from email.utils import parseaddr
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

# Any value will do for the emulator; boto3 only needs some.
DUMMY_KEY_ID = "testing"
DUMMY_SECRET = "testing"
START_TIMEOUT = 20.0


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"moto_server exited ({process.returncode})")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"moto_server did not answer at {url} within {START_TIMEOUT:.0f} s")


def verify_sender(url: str, region: str, sender: str) -> str:
    import boto3

    address = parseaddr(sender)[1]
    client = boto3.client("ses", region_name=region, endpoint_url=url,
                          aws_access_key_id=DUMMY_KEY_ID, aws_secret_access_key=DUMMY_SECRET)
    client.verify_email_identity(EmailAddress=address)
    return address


def received(url: str) -> list[dict]:
    """The raw messages the emulator holds, oldest first."""
    with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=5) as response:
        data = json.load(response)
    return data.get("ses", {}).get("RawMessage", [])


def show(raw: str) -> str:
    message = message_from_string(raw, policy=policy.default)
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    return (f"--- email to {message['To']} ---\nFrom: {message['From']}\nSubject: {message['Subject']}\n\n"
            f"{text.rstrip()}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8025)
    options = parser.parse_args()

    from django.conf import settings

    url = f"http://127.0.0.1:{options.port}"
    if not port_is_free(options.port):
        raise SystemExit(f"Port {options.port} is taken: stop what serves it, or choose another (SES_PORT=...).")
    stop = []
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.append(True))
    emulator = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(options.port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(url, emulator)
        region = settings.AWS_SES_REGION_NAME
        address = verify_sender(url, region, settings.DEFAULT_FROM_EMAIL)
        print(f"# SES emulator at {url}, region {region}; sender {address} verified. Put these lines in .env\n"
              f"# (or the environment) and restart `make run`. The emails it receives follow; Ctrl-C stops it.\n"
              f"EMAIL_BACKEND=django_ses.SESBackend\n"
              f"AWS_SES_REGION_ENDPOINT_URL={url}\n"
              f"AWS_ACCESS_KEY_ID={DUMMY_KEY_ID}\n"
              f"AWS_SECRET_ACCESS_KEY={DUMMY_SECRET}", flush=True)
        shown = 0
        while not stop and emulator.poll() is None:
            try:
                messages = received(url)
            except (urllib.error.URLError, OSError):  # stopping, or stopped under us
                break
            for message in messages[shown:]:
                print(show(message["raw_data"]), flush=True)
            shown = len(messages)
            time.sleep(1)
    finally:
        emulator.terminate()
        try:
            emulator.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulator.kill()


if __name__ == "__main__":
    main()
