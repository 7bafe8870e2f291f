"""Every human-readable string of the apps' page and email templates is marked for translation.

The check reads each template's source with Django's own lexer: the text outside `{% translate %}`,
`{% blocktranslate %}` and comments, once HTML tags and entities are taken out, must hold no word; and no
string literal in a tag or a variable (an include's `with submit_label="..."`, a `default:"..."`) may be
English words unless it is wrapped in `_()`.
"""
from pathlib import Path
import re

from django.template.base import Lexer, TokenType
import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [
    ROOT / "accounts/templates/accounts",
    ROOT / "authcore/templates/authcore",
    ROOT / "connections/templates/connections",
    ROOT / "sessions_app/templates/admin/sessions_app",
]
TEMPLATES = sorted([path for folder in TEMPLATE_DIRS for path in folder.rglob("*") if path.suffix in {".html", ".txt"}]
                   # this project's own pages: the landing page, Django's error pages
                   + [ROOT / "templates" / name for name in ("home.html", "standalone_error.html", "400.html",
                                                             "403.html", "404.html", "500.html")])

OPENING = {"blocktranslate", "blocktrans", "comment"}
CLOSING = {"endblocktranslate", "endblocktrans", "endcomment"}
TRANSLATING = {"translate", "trans"}
TAG = re.compile(r"<[^<>]*>", re.S)
ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", re.I)
WORD = re.compile(r"[^\W\d_]{2,}")  # two letters or more, in any script
# A quoted literal not preceded by `_(`: English words in it are an unmarked message.
LITERAL = re.compile(r"""(?<!_\()(?P<q>["'])(?P<text>[^"']*)(?P=q)""")
WORDS = re.compile(r"[^\W\d_]{2,}\s+[^\W\d_]{2,}")
DEFAULT_WORD = re.compile(r"""\|default:(?P<q>["'])[^"']*[^\W\d_]{2,}[^"']*(?P=q)""")


def unmarked_literals(contents: str) -> list[str]:
    """English words in the quoted literals of a tag or a variable (`with label="..."`, `default:"..."`)."""
    return ([m["text"] for m in LITERAL.finditer(contents) if WORDS.search(m["text"])]
            + [m.group(0) for m in DEFAULT_WORD.finditer(contents)])


def unmarked(source: str) -> list[str]:
    """The human-readable words and literals of a template's source that no translation tag covers."""
    text, found, depth, in_class_block = [], [], 0, False
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.TEXT:
            text.append(token.contents if depth == 0 and not in_class_block else " ")
            continue
        text.append(" ")  # a variable or a tag stands for a value, never for words
        name, *arguments = token.contents.split() or [""]
        if token.token_type == TokenType.BLOCK:
            in_class_block = (in_class_block or arguments[:1] == ["bodyclass"]) and name != "endblock"
            depth += (name in OPENING) - (name in CLOSING)
        skipped = token.token_type == TokenType.BLOCK and name in TRANSLATING | OPENING | CLOSING | {"load", "url"}
        if token.token_type in (TokenType.BLOCK, TokenType.VAR) and not skipped:
            found += unmarked_literals(token.contents)
    outside = ENTITY.sub(" ", TAG.sub(" ", "".join(text)))
    return found + WORD.findall(outside)


def test_the_check_sees_unmarked_strings():
    """The check itself: it catches each kind of unmarked string, and accepts their marked forms."""
    assert unmarked('<p>Hello {{ name }},</p>') == ["Hello"]
    assert unmarked('{% load i18n %}<p role="alert">{% translate "Hi" %} there.</p>') == ["there"]
    assert unmarked('{% if a %}<a href="{{ url }}">Reset it</a>{% endif %}') == ["Reset", "it"]
    assert unmarked('{% include "x.html" with submit_label="Send the link" %}') == ["Send the link"]
    assert unmarked('{{ device|default:"unknown" }}') == ['|default:"unknown"']
    assert unmarked('{% block bodyclass %}{{ block.super }} end-session{% endblock %}'
                    '{% block x %}Hi{% endblock %}') == ["Hi"]
    assert unmarked('{% autoescape off %}Hello,\n\n{{ link }}{% endautoescape %}') == ["Hello"]
    assert unmarked('{% load i18n %}<html lang="en"><p style="color: #555">'
                    '{% blocktranslate with n=x|default:_("a b") %}Hi <a href="{{ u }}">{{ n }}</a>'
                    '{% endblocktranslate %} &rsaquo; {{ site_name }} ·</p>'
                    '{% comment %}Not shown.{% endcomment %}{# nor this #}'
                    '{% include "accounts/_form.html" with submit_label=_("Send the link") %}'
                    '{% if code == "rate_limited" %}{{ when|date:"j F Y, H:i T" }}{% endif %}</html>') == []


def test_the_templates_are_found():
    names = {path.name for path in TEMPLATES}
    assert {"base.html", "register.html", "callback.html", "end_session.html", "_layout.html",
            "welcome.txt", "welcome_subject.txt", "welcome.html"} <= names


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_string_is_marked_for_translation(path):
    assert unmarked(path.read_text()) == []
