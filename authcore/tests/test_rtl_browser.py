"""In Arabic the pages mirror: measured in headless Chromium, a list's indent (where its bullets sit) and the
language switcher move to the other side than in English. A full-page screenshot of the Arabic register page
with its errors goes to test-artifacts/ for a person to look at."""
from pathlib import Path

from django.conf import settings as django_settings
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts"
# A list's indent (1.2rem at a 16px root) is far more than rounding; "near" is within a few pixels.
NEAR = 3
INDENT = 12

# The boxes of a list, its first item, and the first item's text (a Range: the words, not the block).
MEASURE_LIST = """list => {
    const item = list.querySelector("li");
    const range = document.createRange();
    range.selectNodeContents(item);
    const box = element => { const r = element.getBoundingClientRect(); return {left: r.left, right: r.right}; };
    const text = range.getBoundingClientRect();
    return {list: box(list), item: box(item), text: {left: text.left, right: text.right}};
}"""
MEASURE_SWITCHER = """form => {
    const main = document.querySelector("main").getBoundingClientRect();
    const select = form.querySelector("select").getBoundingClientRect();
    return {main_centre: (main.left + main.right) / 2, select_centre: (select.left + select.right) / 2};
}"""


@pytest.fixture
def open_page(browser, live_server, settings):
    # The live server speaks plain http; secure cookies would never come back from the browser.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = settings.LANGUAGE_COOKIE_SECURE = False
    contexts = []

    def open_page(path: str, language: str):
        context = browser.new_context(viewport={"width": 800, "height": 700})
        contexts.append(context)
        context.add_cookies([{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language,
                              "url": live_server.url}])
        page = context.new_page()
        assert page.goto(f"{live_server.url}{path}").ok
        return page

    yield open_page
    for context in contexts:
        context.close()


def register_with_errors(open_page, language: str):
    page = open_page("/accounts/register/", language)
    page.click("main button[type=submit]")  # everything empty: every field says why
    page.wait_for_selector("main .errorlist li")
    return page


def assert_indented_at_the_start(measured: dict, rtl: bool):
    """The list's padding (where the bullets go) is on the start side: the left in English, the right in
    Arabic; the item's words start at the item's start edge."""
    list_box, item, text = measured["list"], measured["item"], measured["text"]
    if rtl:
        assert list_box["right"] - item["right"] > INDENT  # the bullets' room on the right
        assert abs(item["left"] - list_box["left"]) <= NEAR
        assert abs(text["right"] - item["right"]) <= NEAR  # the words start on the right
    else:
        assert item["left"] - list_box["left"] > INDENT
        assert abs(item["right"] - list_box["right"]) <= NEAR
        assert abs(text["left"] - item["left"]) <= NEAR


@pytest.mark.parametrize(("language", "rtl"), [("en", False), ("ar", True)])
def test_the_error_list_is_indented_on_the_reading_start(open_page, language, rtl):
    page = register_with_errors(open_page, language)
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == (
        ["ar", "rtl"] if rtl else ["en", "ltr"])
    assert_indented_at_the_start(page.locator("main .errorlist").first.evaluate(MEASURE_LIST), rtl)
    if rtl:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "rtl-register-ar.png"), full_page=True)


@pytest.mark.parametrize(("language", "rtl"), [("en", False), ("ar", True)])
def test_the_home_page_list_is_indented_on_the_reading_start(open_page, language, rtl):
    page = open_page("/", language)
    assert page.evaluate("document.documentElement.dir") == ("rtl" if rtl else "ltr")
    assert_indented_at_the_start(page.locator("main nav ul").evaluate(MEASURE_LIST), rtl)


def test_the_switcher_sits_at_the_line_end_of_each_direction(open_page):
    sides = {}
    for language in ("en", "ar"):
        page = open_page("/accounts/register/", language)
        measured = page.locator(".language-switcher form").evaluate(MEASURE_SWITCHER)
        sides[language] = "right" if measured["select_centre"] > measured["main_centre"] else "left"
    assert sides == {"en": "right", "ar": "left"}


def test_switching_to_arabic_in_the_browser_mirrors_the_page(open_page, live_server):
    page = open_page("/accounts/register/", "en")
    page.select_option(".language-switcher select", "ar")
    page.click(".language-switcher button")
    page.wait_for_url(f"{live_server.url}/accounts/register/")
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    assert page.locator(".language-switcher select").input_value() == "ar"
