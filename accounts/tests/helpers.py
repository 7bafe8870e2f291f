"""Test helpers: reading account emails, running work concurrently."""
from email.message import EmailMessage
import re

from django.core import mail

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
