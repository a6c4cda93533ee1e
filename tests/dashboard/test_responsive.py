"""Phone width: every view fits the screen (wide tables scroll inside their own box)."""
import pytest

from tests.dashboard.conftest import TIME_ZONE
from tests.dashboard.seed import DAY, seed_day, seed_week

VIEWS = [("requests", f"/#/requests?day={DAY}", ".vrows .row[data-id]"),
         ("request-detail", "/#/requests/req0000000001", ".thread"),
         ("usage", f"/#/usage?day={DAY}", ".chart[data-drawn]"),
         ("settings", "/#/settings", "button[data-add]")]


@pytest.fixture
def phone(browser, live_app):
    context = browser.new_context(viewport={"width": 390, "height": 844}, timezone_id=TIME_ZONE, base_url=live_app,
                                  device_scale_factor=2, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


def test_views_fit_a_phone_screen(phone, screenshot):
    seed_day()
    seed_week()
    for name, path, ready in VIEWS:
        phone.goto(path)
        phone.wait_for_selector(ready, state="attached")
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is {overflow}px wider than the phone"
        screenshot(phone, f"phone-{name}")
