"""The dashboard in a real headless Chromium (selenium with Debian's chromium-driver): sign-in
through the link mailed to a real SMTP sink, two agents' browsers live on one conversation
while the Graph emulator plays the customer, a reply ticking to read, hostile text shown as
text, the offline banner across a server restart, and a screenshot of each screen for the
README (docs/screenshots/). Every wait is an explicit condition, never a sleep."""

from __future__ import annotations

import os
from pathlib import Path
import uuid

import pytest

from conftest import ROOT, Instance, free_port
from realtime_support import live_env, start_emulator
from test_accounts_realtime import conversation_of, mail_to, smtp_env

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

# The README's pictures are refreshed only on request (SB_SCREENSHOTS=docs/screenshots);
# a normal run keeps them under the test's temp dir so it never changes the checkout.
SCREENSHOTS = Path(os.environ.get("SB_SCREENSHOTS") or os.path.join(os.environ.get("SB_TMP", "/tmp"), "screenshots"))
XSS = '<img src=x onerror=alert(1)> and <script>alert(2)</script>'
# What Chromium logs as errors on purpose here: the shell's /api/me probe before signing in
# (401), a used link's page (410), and the socket's retries while the server is down.
EXPECTED_ERRORS = ("favicon.ico", "/api/me - Failed to load resource: the server responded with a status of 401",
                   "/auth/verify?token=", "WebSocket connection to", "net::ERR_CONNECTION_REFUSED")


class Browser:
    """One agent's Chromium, with waits on conditions and a check that the console stayed clean."""

    def __init__(self, base_url: str, width: int = 1280, height: int = 800):
        options = webdriver.ChromeOptions()
        options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}", "--lang=en-GB"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")))
        if width < 500:  # headless Chromium keeps windows at least 500 px wide: emulate the phone's viewport
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})
        self.base_url = base_url
        self.console: list[dict] = []

    def wait(self, condition, timeout: float = 20, message: str = ""):
        """Waits for `condition`; lists re-render, so a stale element just means "look again"."""
        return WebDriverWait(self.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition, message)

    def check(self, condition, message: str):
        """Asserts a condition on elements that may re-render meanwhile."""
        assert self.wait(lambda _: (condition(),), message=message)[0], message

    def row_text(self, conversation_id: str) -> str:
        return self.driver.find_element(By.ID, f"conv-{conversation_id}").get_attribute("textContent")

    def element(self, css: str, timeout: float = 20):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, f"{css} to show")

    def text_of(self, css: str) -> str:
        return self.driver.find_element(By.CSS_SELECTOR, css).text

    def sign_in_with(self, link: str):
        """Opens a sign-in link and presses the confirmation page's button."""
        self.driver.get(link)
        self.wait(EC.element_to_be_clickable((By.CSS_SELECTOR, "form[action='/auth/verify'] button"))).click()
        self.wait(EC.url_to_be(self.base_url + "/"))
        self.element("#sign-out")

    def open_conversation(self, conversation_id: str):
        # Find and click in one step: a live update (another agent starting to view it, say)
        # may re-render the row between the two, and a stale row is just looked up again.
        self.wait(lambda d: d.find_element(By.ID, f"conv-{conversation_id}").click() or True, message=f"to open {conversation_id}")
        self.wait(EC.url_contains(f"#/inbox/{conversation_id}"))
        self.element("#composer")

    def message(self, text: str, timeout: float = 20):
        """The message item whose text is exactly `text` (present in the DOM)."""
        xpath = f"//li[contains(@class,'message')][.//p[@class='text' and .={xpath_literal(text)}]]"
        return self.wait(EC.presence_of_element_located((By.XPATH, xpath)), timeout, f"the message {text!r}")

    def screenshot(self, name: str):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))

    def errors(self) -> list[str]:
        self.console += self.driver.get_log("browser")
        return [e["message"] for e in self.console if e["level"] == "SEVERE" and not any(x in e["message"] for x in EXPECTED_ERRORS)]

    def quit(self):
        self.driver.quit()


def xpath_literal(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat(" + ", \"'\", ".join(f"'{part}'" for part in text.split("'")) + ")"


@pytest.fixture
def dashboard(tmp_path):
    """A server on the emulator's Page mailing through the SMTP sink, an admin (Ann) and an
    agent (Bob), and a browser factory; browsers are closed afterwards."""
    yield from dashboard_on("sqlite", tmp_path)


def dashboard_on(kind: str, tmp_path):
    """The `dashboard` fixture's setup on either database (PostgreSQL: a test can stop it)."""
    inst = Instance(kind, tmp_path, page="configured")
    port = free_port()
    emulator = start_emulator(tmp_path, f"http://127.0.0.1:{port}/api/webhook/facebook")
    browsers: list[Browser] = []
    try:
        url = f"http://127.0.0.1:{port}"
        server = inst.server(env=smtp_env("plain") | live_env(emulator) | {"NEXTAUTH_URL": url}, port=port)
        ann = f"ann-{uuid.uuid4().hex[:8]}@example.com"
        inst.cli("user", "add", ann, "--admin", "--name", "Ann", env={"NEXTAUTH_URL": url})
        bob_link = inst.cli("user", "add", f"bob-{uuid.uuid4().hex[:8]}@example.com", "--name", "Bob", env={"NEXTAUTH_URL": url}).stdout.strip().splitlines()[-1]

        def browser(**size) -> Browser:
            b = Browser(url, **size)
            browsers.append(b)
            return b

        yield inst, server, emulator, browser, ann, bob_link
        for b in browsers:
            assert b.errors() == [], "no console errors (CSP violations, exceptions)"
    finally:
        for b in browsers:
            b.quit()
        emulator.stop()
        inst.close()


def sign_in_by_mail(ann: Browser, address: str) -> str:
    """The sign-in page, the mailed link, the confirmation: lands on the inbox. Returns the link."""
    ann.driver.get(ann.base_url + "/")
    ann.wait(EC.url_to_be(ann.base_url + "/sign-in"), message="the app shell to send a signed-out visitor to /sign-in")
    ann.element("#email").send_keys(address)
    ann.screenshot("sign-in")
    ann.element("#sign-in-form button").click()
    ann.wait(EC.text_to_be_present_in_element((By.ID, "sign-in-result"), "a sign-in link is on its way"))
    mail = mail_to(address)
    link = next(word for word in mail["text"].split() if word.startswith(ann.base_url + "/auth/verify?token="))
    ann.sign_in_with(link)
    return link


def test_sign_in_live_inbox_reply_ticks_and_hostile_text(dashboard):
    inst, server, emulator, browser, ann_address, bob_link = dashboard
    ann, bob = browser(), browser()

    link = sign_in_by_mail(ann, ann_address)
    assert ann.text_of("#my-name") == "Ann"
    bob.sign_in_with(bob_link)

    # A used link is refused with a clear page.
    other = browser()
    other.driver.get(link)
    other.wait(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "cannot be used"))

    # A customer writes: both agents' lists show the conversation.
    psid = emulator.add_customer("Ana", reads=True, last="Lopez")
    emulator.say(psid, "Is the blue jacket in stock?")
    conversation = conversation_of(server, psid)["id"]
    for agent in (ann, bob):
        agent.wait(lambda _: "Is the blue jacket in stock?" in agent.row_text(conversation), message="the preview in the list")

    # Both open it: each sees the other viewing; Bob's typing shows at Ann's.
    ann.open_conversation(conversation)
    bob.open_conversation(conversation)
    ann.wait(EC.text_to_be_present_in_element((By.ID, "viewers"), "Bob is also viewing"))
    bob.wait(EC.text_to_be_present_in_element((By.ID, "viewers"), "Ann is also viewing"))
    bob.element("#composer").send_keys("Let me check")
    ann.wait(EC.text_to_be_present_in_element((By.ID, "viewers"), "Bob is typing"))
    bob.element("#composer").send_keys(Keys.CONTROL, "a", Keys.DELETE)
    bob.driver.find_element(By.ID, "search").click()  # leaving the composer stops typing
    ann.wait(lambda _: "typing" not in ann.text_of("#viewers"), message="Bob's typing to stop")

    # Ann replies with Enter (Shift+Enter breaks the line): optimistic, then ticks to read.
    composer = ann.element("#composer")
    composer.send_keys("Yes, in M", Keys.SHIFT, Keys.ENTER, Keys.SHIFT, "and L.")
    assert ann.text_of("#counter") == "16 / 2000"
    composer.send_keys(Keys.ENTER)
    reply = "Yes, in M\nand L."
    ann.wait(lambda _: ann.message(reply).get_attribute("data-status") == "read", 30, "the reply to tick to read")
    bob.wait(lambda _: bob.message(reply).get_attribute("data-status") == "read", 30, "Bob to see the ticks too")
    assert [m["text"] for m in emulator.received(psid)] == [reply]
    ann.check(lambda: ann.message(reply).find_element(By.CSS_SELECTOR, ".status").get_attribute("aria-label") == "Read", "the Read label")
    ann.check(lambda: ann.message(reply).find_element(By.CSS_SELECTOR, ".author").text == "You", "Ann's reply marked as hers")
    bob.check(lambda: bob.message(reply).find_element(By.CSS_SELECTOR, ".author").text == "Ann", "Bob sees who replied")

    # Hostile text is text: the characters show, no element is created, no script runs.
    emulator.say(psid, XSS)
    for agent in (ann, bob):
        agent.check(lambda: agent.message(XSS).find_elements(By.CSS_SELECTOR, ".bubble img, .bubble script") == [], "no element from the text")
        try:
            agent.driver.switch_to.alert
            raise AssertionError("an alert opened: the text ran as HTML")
        except NoAlertPresentException:
            pass
        agent.wait(lambda _: "<img src=x onerror=alert(1)>" in agent.row_text(conversation), message="the preview as text")
        agent.check(lambda: agent.driver.find_elements(By.CSS_SELECTOR, f"#conv-{conversation} img:not(.avatar), #conv-{conversation} script") == [], "no element in the list")

    emulator.say(psid, "Great, I'll take the M.")
    ann.message("Great, I'll take the M.")
    ann.screenshot("inbox")
    ann.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    ann.screenshot("inbox-dark")
    ann.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})

    # The admin screens.
    ann.driver.get(server.url + "/#/pages")
    ann.wait(lambda _: len(ann.driver.find_elements(By.CSS_SELECTOR, "#pages-screen tbody tr")) >= 1, message="the Pages table")
    assert ann.element("#webhook-url").get_attribute("value") == server.url + "/api/webhook/facebook"
    ann.screenshot("pages")
    ann.driver.get(server.url + "/#/team")
    ann.wait(lambda _: len(ann.driver.find_elements(By.CSS_SELECTOR, "#team-screen tbody tr")) == 2, message="the Team table")
    ann.screenshot("team")


def test_phone_width_and_the_offline_banner_across_a_restart(dashboard):
    inst, server, emulator, browser, ann_address, bob_link = dashboard
    phone = browser(width=390, height=844)
    psid = emulator.add_customer("Tia", reads=True, last="Moreau")
    emulator.say(psid, "Hello, are you open on Sunday?")
    conversation = conversation_of(server, psid)["id"]
    phone.sign_in_with(bob_link)
    phone.open_conversation(conversation)
    phone.message("Hello, are you open on Sunday?")
    assert not phone.driver.find_element(By.ID, "conversations").is_displayed(), "one pane at a time on a phone"
    phone.screenshot("phone-thread")

    # The server goes away: the banner shows; it comes back: the banner goes, nothing is lost.
    server.kill9()
    phone.element("#offline")
    server.start()
    emulator.say(psid, "Still there?")
    phone.message("Still there?", timeout=40)
    phone.wait(EC.invisibility_of_element_located((By.ID, "offline")), 30, "the banner to go once reconnected")
    phone.element("#composer").send_keys("Yes! 10 to 4.", Keys.ENTER)
    phone.wait(lambda _: phone.message("Yes! 10 to 4.").get_attribute("data-status") in ("sent", "delivered", "read"), 30, "the reply to be sent")


def test_search_finds_by_message_text_and_says_when_nothing_matches(dashboard):
    inst, server, emulator, browser, ann_address, bob_link = dashboard
    for first, text in (("Ines", "Where is my parcel?"), ("Omar", "Do you ship to Canada?")):
        emulator.say(emulator.add_customer(first, reads=True, last="Test"), text)
    agent = browser()
    agent.sign_in_with(bob_link)
    agent.wait(lambda _: len(agent.driver.find_elements(By.CSS_SELECTOR, "#conversations .row")) == 2, message="both conversations")
    agent.driver.find_element(By.TAG_NAME, "body").send_keys("/")
    agent.wait(lambda d: d.switch_to.active_element.get_attribute("id") == "search", message="/ to focus the search")
    agent.driver.switch_to.active_element.send_keys("parcel")
    agent.wait(lambda _: [r.get_attribute("textContent") for r in agent.driver.find_elements(By.CSS_SELECTOR, "#conversations .row")] != []
               and all("parcel" in r.get_attribute("textContent") for r in agent.driver.find_elements(By.CSS_SELECTOR, "#conversations .row")),
               message="only the parcel conversation")
    agent.driver.switch_to.active_element.send_keys(" from Mars")
    agent.element("#list-empty")
