"""An operator can run the whole email flow locally: the SES endpoint can be a local emulator over plain
http (AWS_SES_REGION_ENDPOINT_URL; here moto's server on loopback, reached by django-ses and boto3 from a
separate process), and the file backend writes where EMAIL_FILE_PATH says."""
import os
from pathlib import Path
import subprocess
import sys

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.ses.models import ses_backends
import pytest

from authcore.testing import free_port

ROOT = Path(__file__).resolve().parents[2]
SEND = ("import django; django.setup()\n"
        "from django.core.mail import send_mail\n"
        "send_mail('Local run', 'A body with a link', None, ['someone@example.com'])\n")


def run_project(**env) -> None:
    base = {"DJANGO_SETTINGS_MODULE": "config.settings", "ENV_FILE": "", "DEBUG": "true", "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT), "DEFAULT_FROM_EMAIL": "Auth <no-reply@example.com>"}
    result = subprocess.run([sys.executable, "-c", SEND], cwd=ROOT, env={**base, **env}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def ses_emulator():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    client = boto3.client("ses", region_name="us-east-1", endpoint_url=url, aws_access_key_id="local",
                          aws_secret_access_key="local")
    client.verify_email_identity(EmailAddress="no-reply@example.com")
    yield url, client
    server.stop()


def test_emails_go_to_an_ses_endpoint_over_plain_http(ses_emulator):
    url, _ = ses_emulator
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages  # the emulator runs in this process
    before = len(sent)
    run_project(EMAIL_BACKEND="django_ses.SESBackend", AWS_SES_REGION_ENDPOINT_URL=url,
                AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION="us-east-1")
    assert len(sent) == before + 1
    assert "Subject: Local run" in sent[-1].raw_data and "someone@example.com" in sent[-1].destinations[0]


def test_the_file_backend_writes_where_email_file_path_says(tmp_path):
    run_project(EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend", EMAIL_FILE_PATH=str(tmp_path))
    [written] = list(tmp_path.iterdir())
    assert "Subject: Local run" in written.read_text()


def test_without_an_endpoint_url_django_ses_uses_the_regions_https_endpoint():
    result = subprocess.run(
        [sys.executable, "-c", "from config import settings as s; print(s.AWS_SES_REGION_ENDPOINT_URL)"],
        cwd=ROOT, env={**os.environ, "DEBUG": "true", "AWS_DEFAULT_REGION": "eu-west-1",
                       "AWS_SES_REGION_ENDPOINT_URL": ""}, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "https://email.eu-west-1.amazonaws.com"
