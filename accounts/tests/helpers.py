"""Test helpers: reading account emails, running work concurrently."""
import re
import threading
from email.message import EmailMessage

from django.core import mail
from django.db import connection

LINK = re.compile(r"https?://[^\s<>\"]+")


def emails_to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


def only_email_to(address: str):
    messages = emails_to(address)
    assert len(messages) == 1, [m.subject for m in mail.outbox]
    return messages[0]


def link_in(text: str) -> str:
    """The single link of an email body that carries a token (verify or reset)."""
    links = [link for link in LINK.findall(text) if "." in link.rstrip("/").rsplit("/", 1)[-1]]
    assert len(set(links)) == 1, links
    return links[0]


def token_in(text: str) -> str:
    """The token of the emailed link: the last path segment of the built-in pages' URLs."""
    return link_in(text).rstrip("/").rsplit("/", 1)[-1]


def plain_text(message: EmailMessage) -> str:
    """The text/plain part of a parsed MIME message (as SES received it)."""
    part = message.get_body(preferencelist=("plain",))
    return part.get_content()


def run_concurrently(count: int, work) -> list:
    """Run `work()` in `count` threads released together; exceptions come back as results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(index: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results[index] = work()
        except BaseException as error:  # noqa: BLE001 - the test asserts on it
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
