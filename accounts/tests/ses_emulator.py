"""SES for the queue tests: moto's SES server on loopback, reached through a proxy whose faults the test
chooses (throttling, SES unavailable, dropped connections, a send that hangs). django-ses and boto3 talk
to it over real HTTP, as they talk to SES."""
from email import message_from_bytes, policy
from email.utils import parseaddr
import http.server
import threading
import time
import urllib.error
import urllib.request

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.ses.models import ses_backends

from authcore.testing import free_port

THROTTLED = (400, b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                  b"<Message>Maximum sending rate exceeded.</Message></Error><RequestId>t</RequestId></ErrorResponse>")
UNAVAILABLE = (503, b"<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"
                    b"<Message>Service unavailable.</Message></Error><RequestId>u</RequestId></ErrorResponse>")
# stall: the send hangs until the test says unstall, then gets no answer (its worker was killed, say);
# hold: the same hang, after which the send goes through.
FAULTS = ("throttle", "unavailable", "drop", "stall", "hold")


class SESEmulator:
    def __init__(self) -> None:
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
        self._moto.start()
        self.moto_url = f"http://127.0.0.1:{self._moto._port}"
        self.lock = threading.Lock()
        self.fault: str | None = None
        self.faults_left: int | None = None  # None: every send while the fault is set
        self.send_delay = 0.0  # seconds each forwarded send takes, to make concurrent workers overlap
        self.sends_seen = 0
        self.faults_served = 0
        self.stalled = threading.Event()  # a send is hanging in "stall"
        self.unstall = threading.Event()
        self._proxy = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(self))
        self._proxy.daemon_threads = True
        threading.Thread(target=self._proxy.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._proxy.server_address[1]}"
        self.backend.sent_messages.clear()

    # --- the test's controls -------------------------------------------------------------------------
    def fail(self, fault: str | None, times: int | None = None) -> None:
        assert fault in (None, *FAULTS)
        with self.lock:
            self.fault, self.faults_left = fault, times

    @property
    def backend(self):
        return ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]

    def client(self):
        return boto3.client("ses", region_name="us-east-1", endpoint_url=self.moto_url,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def verify_sender(self, address: str) -> None:
        self.client().verify_email_identity(EmailAddress=parseaddr(address)[1])

    def unverify_sender(self, address: str) -> None:
        self.client().delete_identity(Identity=parseaddr(address)[1])

    @property
    def messages(self) -> list:
        return [message_from_bytes(m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data,
                                   policy=policy.default) for m in self.backend.sent_messages]

    def recipients(self) -> list[str]:
        return sorted(message["To"] for message in self.messages)

    def stop(self) -> None:
        self.unstall.set()
        self._proxy.shutdown()
        self._proxy.server_close()
        self.backend.sent_messages.clear()
        self._moto.stop()

    # --- the proxy ------------------------------------------------------------------------------------
    def _fault_for(self, body: bytes) -> str | None:
        if b"Action=SendRawEmail" not in body:
            return None  # the quota lookups django-ses makes are never faulted
        with self.lock:
            self.sends_seen += 1
            if self.fault is None or self.faults_left == 0:
                return None
            if self.faults_left is not None:
                self.faults_left -= 1
            self.faults_served += 1
            return self.fault


def _handler(emulator: SESEmulator):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            fault = emulator._fault_for(body)
            if fault in ("stall", "hold"):
                emulator.stalled.set()
                emulator.unstall.wait(60)
                fault = "drop" if fault == "stall" else None
            if fault == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if fault in ("throttle", "unavailable"):
                status, payload = THROTTLED if fault == "throttle" else UNAVAILABLE
            else:
                time.sleep(emulator.send_delay if b"Action=SendRawEmail" in body else 0)
                status, payload = self._forward(body)
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _forward(self, body: bytes) -> tuple[int, bytes]:
            skip = ("host", "content-length")
            headers = {key: value for key, value in self.headers.items() if key.lower() not in skip}
            request = urllib.request.Request(emulator.moto_url + self.path, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                return error.code, error.read()

    return Handler
