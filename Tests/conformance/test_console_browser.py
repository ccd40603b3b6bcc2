"""The operations console in a real browser: Debian's headless Chromium driven by Selenium.

One walk through the console as an operator would: sign in, create a room through the form, watch it live
(server-sent events) while the page's own test client and an SDK-like WebSocket client talk in it, moderate
from the transcript and the users list, then visit every other page. Along the way the browser must log no
JavaScript error and no Content-Security-Policy violation.

Needs: Debian packages `chromium` and `chromium-driver`; PyPI `selenium` (requirements.txt).
Screenshots of every page visited go to Tests/conformance/artifacts/; the dashboard and the live room view
are also copied to docs/screenshots/ for the README.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from parley_support import (
    REPO_ROOT,
    chat_token,
    recv_until,
    recv_until_closed,
    send_json,
    ws_connect,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ADMIN_PASSWORD = "browser-test-password-1"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
README_SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
WAIT_S = 10

# Recorded by the browser itself on every document, before the page's own scripts run (CDP-injected
# scripts are not subject to the page's CSP); kept in sessionStorage so they survive navigations.
CSP_RECORDER = """
document.addEventListener("securitypolicyviolation", function (e) {
  try {
    var list = JSON.parse(sessionStorage.getItem("cspViolations") || "[]");
    list.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " on " + document.location.pathname);
    sessionStorage.setItem("cspViolations", JSON.stringify(list));
  } catch (ignored) {}
});
"""

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)",
)


@pytest.fixture
def browser():
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1280,900",
        "--disable-dev-shm-usage",
        # console.css scrolls smoothly unless reduced motion is asked for; WebDriver clicks need instant scrolling.
        "--force-prefers-reduced-motion",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_RECORDER})
    # A 1280×900 viewport (the window size includes the headless browser's frame).
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    )
    try:
        yield driver
    finally:
        driver.quit()


class Console:
    """The browser, with the checks every page gets."""

    def __init__(self, driver: webdriver.Chrome, endpoint: str):
        self.driver = driver
        self.endpoint = endpoint
        self.wait = WebDriverWait(driver, WAIT_S)
        self.errors: list[str] = []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def collect_log(self) -> None:
        for entry in self.driver.get_log("browser"):
            # The console has no favicon; the browser's own request for one is not the console's doing.
            if entry.get("level") == "SEVERE" and "/favicon.ico" not in entry.get("message", ""):
                self.errors.append(f"{entry.get('source')}: {entry.get('message')}")

    def open(self, path: str, heading: str) -> None:
        self.collect_log()
        self.driver.get(self.endpoint + path)
        self.wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), heading))
        # console.js has run once it marks the document.
        self.wait.until(lambda d: d.execute_script("return document.documentElement.classList.contains('js')"))

    def screenshot(self, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        assert self.driver.save_screenshot(str(path)), f"screenshot {name} failed"
        return path

    def csp_violations(self) -> list[str]:
        return json.loads(self.driver.execute_script("return sessionStorage.getItem('cspViolations') || '[]'"))

    def part(self, name: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, f'[data-live="{name}"]')

    def answer_prompt(self, text: str) -> None:
        alert = self.wait.until(EC.alert_is_present())
        alert.send_keys(text)
        alert.accept()


def texts(elements: list[WebElement]) -> list[str]:
    try:
        return [e.text for e in elements]
    except StaleElementReferenceException:  # the live view replaced a row while we read it
        return []


def transcript_messages(driver) -> dict[str, str]:
    """body text -> class attribute of every message line in the live transcript."""
    lines = {}
    for line in driver.find_elements(By.CSS_SELECTOR, '[data-live="transcript"] li.line-message'):
        try:
            lines[line.find_element(By.CSS_SELECTOR, ".line-body").text] = line.get_attribute("class")
        except StaleElementReferenceException:
            continue
    return lines


def connected_users(driver) -> list[str]:
    return texts(driver.find_elements(By.CSS_SELECTOR, '[data-live="users"] tr td:first-child'))


def user_row(driver, user_id: str) -> WebElement:
    for row in driver.find_elements(By.CSS_SELECTOR, '[data-live="users"] tr'):
        if row.find_element(By.CSS_SELECTOR, "td").text == user_id:
            return row
    raise AssertionError(f"{user_id} is not in the connected users list")


def test_console_in_a_browser(start_server, browser):
    srv = start_server(PARLEY_ADMIN_PASSWORD=ADMIN_PASSWORD)
    with contextlib.ExitStack() as sockets:
        walk_through_the_console(srv, browser, lambda token: sockets.enter_context(contextlib.closing(ws_connect(srv, token))))

    # With the browser gone from the live view, the server stops promptly: an open (or just closed) live view
    # must not hold up shutdown.
    browser.get("about:blank")
    process = srv.process
    process.send_signal(signal.SIGTERM)
    try:
        rc = process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("parley did not exit within 10 s of SIGTERM after a console live view had been open")
    finally:
        srv.process = None
        if process.poll() is None:
            process.kill()
            process.wait()
    assert rc == 0, f"parley exited with {rc}"


def walk_through_the_console(srv, browser, open_ws) -> None:
    console = Console(browser, srv.endpoint)
    driver = browser
    wait = console.wait

    # ---- sign in (a signed-out visit lands on the sign-in page, then comes back)
    driver.get(srv.endpoint + "/console/rooms")
    wait.until(EC.url_contains("/console/sign-in?next="))
    driver.find_element(By.ID, "sign-in-user").send_keys("admin")
    driver.find_element(By.ID, "sign-in-password").send_keys(ADMIN_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]").click()
    wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Rooms"))
    assert driver.current_url == srv.endpoint + "/console/rooms"
    cookie = driver.get_cookie("parley_session")
    assert cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict", cookie

    # ---- create a room through the form, with custom limits
    console.open("/console/rooms/new", "Create room")
    driver.find_element(By.ID, "room-name").send_keys("browser-room")
    length = driver.find_element(By.ID, "room-length")
    assert not length.is_displayed(), "custom limits stay hidden until chosen"
    driver.find_element(By.CSS_SELECTOR, 'input[name="limits"][value="custom"]').click()
    wait.until(EC.visibility_of(length))
    length.clear()
    length.send_keys("300")
    rate = driver.find_element(By.ID, "room-rate")
    rate.clear()
    rate.send_keys("20")
    driver.find_element(By.ID, "room-tags").send_keys("team=console\nstage=e2e")
    driver.find_element(By.CSS_SELECTOR, "form.room-form button[type=submit]").click()
    wait.until(EC.url_contains("notice="))
    room_id = driver.current_url.split("/console/rooms/")[1].split("?")[0]
    assert len(room_id) == 12, driver.current_url
    room = srv.client().get_room(identifier=srv.room_arn(room_id))
    assert (room["maximumMessageLength"], room["maximumMessageRatePerSecond"]) == (300, 20)
    assert room["tags"] == {"team": "console", "stage": "e2e"}
    details = driver.find_element(By.CSS_SELECTOR, "dl.details").text
    assert "300 characters" in details and "20 per second" in details, details

    # ---- the live view connects over SSE
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, '[data-live="status"]'), "Live"))

    # the page's test client connects as `tester` and speaks
    user = driver.find_element(By.ID, "test-user")
    user.clear()
    user.send_keys("tester")
    assert driver.find_element(By.CSS_SELECTOR, 'input[name="capabilities"][value="SEND_MESSAGE"]').is_selected()
    console.part("test-connect-button").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, '[data-live="test-status"]'), "Connected"))
    message = driver.find_element(By.ID, "test-message")
    wait.until(EC.element_to_be_clickable(message))
    message.send_keys("hello from the browser")
    driver.find_element(By.CSS_SELECTOR, '[data-live="test-send"] button[type=submit]').click()

    # an SDK-like client joins with a token from the API and speaks too
    token = chat_token(srv.client(), room["arn"], "ws-user", ["SEND_MESSAGE"])
    ws = open_ws(token)
    send_json(ws, {"Action": "SEND_MESSAGE", "RequestId": "ws-1", "Content": "hello from websockets"})
    own = recv_until(ws, lambda f: f.get("RequestId") == "ws-1")[0]
    assert own["Type"] == "MESSAGE", own

    wait.until(lambda d: {"hello from the browser", "hello from websockets"} <= set(transcript_messages(d)))
    wait.until(lambda d: sorted(connected_users(d)) == ["tester", "ws-user"])
    assert console.part("count").text == "2"
    frames = console.part("test-frames").text
    assert "hello from websockets" in frames, frames

    # ---- delete the websockets user's message from the transcript (the page asks for a reason)
    line = next(
        li
        for li in driver.find_elements(By.CSS_SELECTOR, '[data-live="transcript"] li.line-message')
        if li.find_element(By.CSS_SELECTOR, ".line-body").text == "hello from websockets"
    )
    line.find_element(By.XPATH, './/button[normalize-space()="Delete"]').click()
    console.answer_prompt("off topic")
    wait.until(lambda d: "deleted" in transcript_messages(d).get("hello from websockets", "").split())
    assert "deleted" not in transcript_messages(driver)["hello from the browser"].split()
    deleted = recv_until(ws, lambda f: f.get("Type") == "EVENT" and f.get("EventName") == "aws:DELETE_MESSAGE")[0]
    assert deleted["Attributes"].get("MessageID") == own["Id"], deleted
    assert deleted["Attributes"].get("Reason") == "off topic", deleted
    driver.execute_script("document.getElementById('live').scrollIntoView()")
    live_shot = console.screenshot("room-live-view")

    # ---- disconnect the websockets user from the users list
    user_row(driver, "ws-user").find_element(By.XPATH, './/button[normalize-space()="Disconnect"]').click()
    console.answer_prompt("end of test")
    frames, code, reason = recv_until_closed(ws)
    assert code == 1001, f"ws-user's socket closed with {code} ({reason!r}), expected 1001; frames {frames}"
    wait.until(lambda d: connected_users(d) == ["tester"])
    assert not console.part("moderation-error").is_displayed(), console.part("moderation-error").text

    # ---- a listener stays connected so the dashboard has something to show; then every other page
    open_ws(chat_token(srv.client(), room["arn"], "listener", []))
    console.open("/console/rooms", "Rooms")
    assert "browser-room" in driver.find_element(By.TAG_NAME, "main").text
    console.screenshot("rooms")
    pages = [
        ("/console/logging", "Logging configurations", "logging"),
        ("/console/handlers", "Message review handlers", "handlers"),
        ("/console/quotas", "Service quotas", "quotas"),
        ("/console/metrics", "Metrics", "metrics"),
        ("/console/keys", "API keys", "keys"),
        ("/console/users", "Console users", "users"),
        ("/console/audit", "Audit log", "audit"),
        ("/console", "Dashboard", "dashboard"),
    ]
    shown = {}
    for path, heading, name in pages:
        console.open(path, heading)
        console.screenshot(name)
        shown[name] = driver.find_element(By.TAG_NAME, "main").text
    assert "browser-room" in shown["dashboard"], "the busiest rooms list shows the room with its listener"

    def messages_counted(d) -> bool:
        # Metrics are rolled up every few seconds: reload until the minute's messages show, for the README's picture.
        # On a slow machine the walk above can outlast the minute, so keep a message inside it.
        values = texts(d.find_elements(By.CSS_SELECTOR, ".stat-value"))
        if len(values) > 1 and values[1] not in ("", "0"):
            return True
        send_json(ws, {"Action": "SEND_MESSAGE", "RequestId": "dashboard-tick", "Content": "still here"})
        d.refresh()
        return False

    WebDriverWait(driver, 20, poll_frequency=1).until(messages_counted)
    console.screenshot("dashboard")
    for action in ("SignIn", "CreateRoom", "CreateTestChatToken", "DeleteMessage", "DisconnectUser"):
        assert action in shown["audit"], f"the audit log lacks {action}"

    # ---- no JavaScript errors, no CSP violations
    console.collect_log()
    violations = console.csp_violations()
    assert not violations, violations
    assert not console.errors, console.errors

    README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ARTIFACTS / "dashboard.png", README_SCREENSHOTS / "dashboard.png")
    shutil.copyfile(live_shot, README_SCREENSHOTS / "live-room.png")

