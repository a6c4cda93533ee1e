"""Settings in Chromium: header rules added, edited, switched off and deleted; the API's errors shown."""
import models
from tests.dashboard.conftest import until


def saved_rules():
    return models.load_proxy_settings()


def fill_rule(page, header, action="set", value="", find=""):
    dialog = page.locator("dialog[open]")
    dialog.locator("input[name=header]").fill(header)
    dialog.locator("select[name=action]").select_option(action)
    dialog.locator("input[name=value]").fill(value)
    dialog.locator("input[name=find]").fill(find)
    dialog.locator("text=Save rule").click()


def test_add_edit_disable_and_delete_a_request_header_rule(page, screenshot):
    page.goto("/#/settings")
    page.click("button[data-add=requestHeaderRules]")
    fill_rule(page, "x-team", value="platform")
    until(page, "!document.querySelector('dialog')")
    page.wait_for_selector("table.rules code:text('x-team')")
    assert saved_rules()["request_header_rules"][0]["value"] == "platform"
    page.click("table.rules button:text('Edit')")
    fill_rule(page, "x-team", action="replace", value="infra", find="platform")
    until(page, "!document.querySelector('dialog')")
    page.wait_for_selector("table.rules td:text('replace')")
    assert saved_rules()["request_header_rules"][0]["find"] == "platform"
    page.uncheck("table.rules input[type=checkbox]")
    page.wait_for_selector("table.rules tr.disabled")
    assert saved_rules()["request_header_rules"][0]["enabled"] is False
    screenshot(page, "settings")
    page.click("table.rules button:text('Delete')")
    page.wait_for_selector("section:has(h2:text('Request header rules')) p:text('No rules.')")
    assert saved_rules()["request_header_rules"] == []


def test_a_refused_rule_shows_the_api_validation_error_and_saves_nothing(page, screenshot):
    page.goto("/#/settings")
    page.click("button[data-add=responseHeaderRules]")
    fill_rule(page, "content-length", value="1")
    error = page.locator("dialog[open] .alert")
    error.wait_for()
    assert "Invalid settings" in error.text_content()
    assert "responseHeaderRules[0].header" in error.text_content()
    page.problems.expect_console("400")
    screenshot(page, "settings-validation-error")
    page.keyboard.press("Escape")
    until(page, "!document.querySelector('dialog')")
    assert saved_rules()["response_header_rules"] == []
    assert page.locator("section:has(h2:text('Response header rules')) p:text('No rules.')").count() == 1


def test_body_capture_is_saved_and_a_bad_size_is_refused(page):
    page.goto("/#/settings")
    page.select_option("select[name=bodyCapture]", "errors")
    page.fill("input[name=bodyMaxBytes]", "65536")
    page.click("button[data-save=capture]")
    until(page, "document.querySelector('.notice').textContent.startsWith('Saved')")
    assert {k: saved_rules()[k] for k in ("body_capture", "body_max_bytes")} == {"body_capture": "errors", "body_max_bytes": 65536}
    page.fill("input[name=bodyMaxBytes]", "-1")
    page.click("button[data-save=capture]")
    error = page.locator(".form-error .alert")
    error.wait_for()
    assert "bodyMaxBytes" in error.text_content()
    page.problems.expect_console("400")
    assert saved_rules()["body_max_bytes"] == 65536
