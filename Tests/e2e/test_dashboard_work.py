"""The dashboard's working screens in a real headless Chromium against the real binary, the
Graph emulator and the LLM emulator: Bot Settings saved and answering with typing shown,
pause and resume from the contact pane, the list's views, a reply Messenger refuses retried
from the thread, quick replies and an attachment from the composer, the Status screen
updating by itself, and Test Webhook reporting each check truthfully (a database that
stops, a token Meta refuses). Every wait is an explicit condition, never a sleep."""

from __future__ import annotations

import subprocess

import pytest
import requests

from conftest import binary, free_port, psql, wait_until
from emulator import DEMO_PAGE, page_token
from test_accounts_realtime import conversation_of
from test_dashboard import Browser, dashboard, dashboard_on  # noqa: F401 - the fixture is used by name

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

LLM_KEY = "sk-e2e-never-shown-7c1d"


class LLMEmulator:
    """`switchboard llm-emulator` on a free port, answering after `latency_ms`."""

    def __init__(self, log_path, latency_ms: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen([binary(), "llm-emulator", "--port", str(self.port), "--latency-ms", str(latency_ms), "--api-key", LLM_KEY],
                                         stdout=log, stderr=subprocess.STDOUT, env={"PATH": "/usr/bin:/bin", "LOG_LEVEL": "warning"})
        headers = {"Authorization": f"Bearer {LLM_KEY}"}
        wait_until(lambda: requests.get(self.url + "/models", headers=headers, timeout=1).status_code == 200, 60, 0.05, "the LLM emulator")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def link_for(inst, server, address: str) -> str:
    """A fresh sign-in link (`switchboard user link`), as an admin gets when mail is slow."""
    return inst.cli("user", "link", address, env={"NEXTAUTH_URL": server.url}).stdout.strip().splitlines()[-1]


def row_psids(b: Browser) -> list[str]:
    return [r.get_attribute("data-id") for r in b.driver.find_elements(By.CSS_SELECTOR, "#conversations .row")]


def set_field(b: Browser, css: str, text: str):
    field = b.element(css)
    field.send_keys(Keys.CONTROL, "a", Keys.DELETE)
    field.send_keys(text)


def test_bot_settings_typing_pause_resume_views_composer_and_retry(dashboard, tmp_path):
    inst, server, emulator, browser, ann_address, bob_link = dashboard
    llm = LLMEmulator(tmp_path / "llm.log", latency_ms=3000)
    try:
        ann = browser()
        ann.sign_in_with(link_for(inst, server, ann_address))

        # Bot Settings: on, answering with the model, a FAQ entry and handover words; saved.
        ann.driver.get(server.url + "/#/bot")
        ann.element("#bot-form")
        if not ann.element("#bot-enabled").is_selected():
            ann.element("#bot-enabled").click()
        if not ann.element("#bot-use-model").is_selected():
            ann.element("#bot-use-model").click()
        set_field(ann, "#bot-baseURL", llm.url)
        set_field(ann, "#bot-model", "emulated-gpt")
        ann.element("#bot-apiKey").send_keys(LLM_KEY)
        ann.element("#bot-faq-add").click()
        row = ann.driver.find_elements(By.CSS_SELECTOR, "#bot-faq .faq-row")[-1]
        row.find_element(By.NAME, "question").send_keys("Do you ship abroad?")
        row.find_element(By.NAME, "keywords").send_keys("ship, shipping")
        row.find_element(By.NAME, "answer").send_keys("We ship across the EU in 3-5 days.")
        set_field(ann, "#bot-handoverKeywords", "human, person, agent")
        ann.element("#bot-save").click()
        ann.wait(EC.text_to_be_present_in_element((By.ID, "bot-result"), "Saved"), message="the settings to save")
        saved = server.api(f"/api/pages/{DEMO_PAGE}/bot")["bot"]
        assert saved["enabled"] is True
        assert saved["model"] == {"baseURL": llm.url, "model": "emulated-gpt", "hasAPIKey": True}
        assert {"question": "Do you ship abroad?", "keywords": ["ship", "shipping"], "answer": "We ship across the EU in 3-5 days."} in saved["settings"]["faq"]
        assert saved["settings"]["handoverKeywords"] == ["human", "person", "agent"]
        assert LLM_KEY not in ann.driver.page_source, "the key is write-only"
        assert ann.element("#bot-apiKey").get_attribute("placeholder") == "stored; type to replace"

        # The bot answers; the next time, its work shows as typing until its answer lands.
        ana = emulator.add_customer("Ana", reads=True, last="Lopez")
        emulator.say(ana, "Hi there")
        conversation = conversation_of(server, ana)["id"]
        ann.driver.get(server.url + f"/#/inbox/{conversation}")
        ann.element("#composer")
        ann.wait(lambda _: ann.driver.find_elements(By.CSS_SELECTOR, "#messages li.by-bot"), 60, "the bot's first answer")
        ann.check(lambda: ann.driver.find_element(By.CSS_SELECTOR, "#messages li.by-bot .author").text == "Bot", "the bot's answer marked")
        emulator.say(ana, "And what sizes do you have?")
        ann.wait(EC.text_to_be_present_in_element((By.ID, "viewers"), "Bot is typing"), 30, "the bot typing while the model works")
        ann.wait(lambda _: len(ann.driver.find_elements(By.CSS_SELECTOR, "#messages li.by-bot")) == 2, 30, "the bot's second answer")
        ann.wait(lambda _: "typing" not in ann.text_of("#viewers"), message="the typing to end with the answer")
        assert ann.text_of("#bot-state") == "Answering"

        # Another customer the bot is handling, for the views.
        omar = emulator.add_customer("Omar", reads=True, last="Haddad")
        emulator.say(omar, "Good morning")
        other = conversation_of(server, omar)["id"]

        # Pause from the contact pane: "Needs a human" lists it, the bot's view does not.
        ann.element("#bot-toggle").click()
        ann.wait(EC.text_to_be_present_in_element((By.ID, "bot-state"), "Paused: paused by hand"))
        assert server.api(f"/api/conversations/{conversation}")["conversation"]["bot"] == {"state": "paused", "reason": "manual"}
        Select(ann.element("#view")).select_by_value("human")
        ann.wait(lambda _: row_psids(ann) == [conversation], message="only Ana needs a human")
        Select(ann.element("#view")).select_by_value("bot")
        ann.wait(lambda _: row_psids(ann) == [other], message="only Omar is the bot's")
        ann.element("#bot-toggle").click()
        ann.wait(EC.text_to_be_present_in_element((By.ID, "bot-state"), "Answering"))
        Select(ann.element("#view")).select_by_value("unassigned")
        ann.wait(lambda _: set(row_psids(ann)) == {conversation, other}, message="both unassigned")
        Select(ann.element("#view")).select_by_value("bot")
        ann.wait(lambda _: set(row_psids(ann)) == {conversation, other}, message="both the bot's again")
        Select(ann.element("#view")).select_by_value("all")

        # The composer: quick replies with the text, an attachment by URL as its own message.
        ann.element("#composer-more").click()
        ann.element("#composer").send_keys("Which size would you like?")
        ann.element("#quick-replies").send_keys("S, M, L")
        chart = emulator.url + "/_emulator/avatars/size-chart.png"
        ann.element("#attachment-url").send_keys(chart)
        ann.element("#send").click()
        ann.check(lambda: [c.text for c in ann.message("Which size would you like?").find_elements(By.CSS_SELECTOR, ".choice")] == ["S", "M", "L"],
                  "the quick replies under the text")
        ann.wait(lambda _: ann.driver.find_elements(By.XPATH, f"//li[contains(@class,'message')]//a[@href='{chart}']"), message="the attachment as a link")

        def received():
            return [m for m in emulator.received(ana) if m.get("text") == "Which size would you like?" or m.get("attachmentURL") == chart]

        sent = wait_until(lambda: received() if len(received()) == 2 else None, 30, message="both to reach Messenger")
        assert sent[0]["quickReplies"] == ["S", "M", "L"] and sent[1]["attachmentType"] == "image"

        # Messenger refuses a reply: the reason shows with Retry; Retry sends it once.
        emulator.fault(error={"code": 100, "message": "Invalid parameter (emulated)"}, count=1)
        ann.element("#composer").send_keys("Your parcel left today.", Keys.ENTER)
        parcel = "Your parcel left today."
        ann.wait(lambda _: ann.message(parcel).get_attribute("data-status") == "failed", 30, "the reply to fail")
        ann.check(lambda: ann.message(parcel).find_element(By.CSS_SELECTOR, ".failure .reason").text == "Facebook rejected the message as invalid. (100)", "the reason shown")
        ann.wait(lambda _: ann.message(parcel).find_element(By.CSS_SELECTOR, ".failure .retry").click() or True, message="to press Retry")
        ann.wait(lambda _: ann.message(parcel).get_attribute("data-status") in ("sent", "delivered", "read"), 30, "the retry to be sent")
        ann.wait(lambda _: not ann.message(parcel).find_elements(By.CSS_SELECTOR, ".failure"), message="the failure to go")
        assert [m.get("text") for m in emulator.received(ana)].count(parcel) == 1
        # The agent's reply paused the bot (a person took over).
        ann.wait(EC.text_to_be_present_in_element((By.ID, "bot-state"), "Paused: an agent replied"))
        ann.screenshot("thread-bot")

        # The Status screen shows the Page's bot as its stats route counts it.
        stats = server.api(f"/api/pages/{DEMO_PAGE}/bot/stats")
        assert stats["replies"] >= 2 and stats["llm"]["calls"] >= 2, stats
        ann.driver.get(server.url + "/#/status")
        ann.element("#bot-stats")

        def shown(term: str) -> str:
            facts = ann.driver.find_elements(By.CSS_SELECTOR, f".bot-stats[data-page='{DEMO_PAGE}'] dt, .bot-stats[data-page='{DEMO_PAGE}'] dd")
            texts = [f.text for f in facts]
            return texts[texts.index(term) + 1]

        ann.check(lambda: shown("Replies") == str(stats["replies"]) and shown("Model calls") == str(stats["llm"]["calls"]), "the bot's numbers")
    finally:
        llm.stop()


def test_assignment_and_resolution_live_in_two_browsers(dashboard):
    inst, server, emulator, browser, ann_address, bob_link = dashboard
    psid = emulator.add_customer("Noa", reads=True, last="Katz")
    emulator.say(psid, "Can someone help me with an invoice?")
    conversation = conversation_of(server, psid)["id"]
    ann, bob = browser(), browser()
    ann.sign_in_with(link_for(inst, server, ann_address))
    bob.sign_in_with(bob_link)
    bob_id = bob.driver.execute_script("return fetch('/api/me').then((r) => r.json()).then((a) => a.user.id)")

    # Bob watches his own view; Ann (an admin) assigns the conversation to him from the pane.
    Select(bob.element("#view")).select_by_value("mine")
    bob.element("#list-empty")
    ann.open_conversation(conversation)
    Select(ann.element("#assign-to")).select_by_visible_text("Bob")
    ann.wait(EC.text_to_be_present_in_element((By.ID, "assignee"), "Bob"))
    bob.wait(lambda _: row_psids(bob) == [conversation], message="the conversation in Bob's view, live")
    assert server.api(f"/api/conversations/{conversation}")["conversation"]["assigneeId"] == bob_id

    # Bob, an agent, may take it or let it go, not give it to someone else.
    bob.open_conversation(conversation)
    bob.wait(EC.text_to_be_present_in_element((By.ID, "assignee"), "You"))
    assert bob.driver.find_elements(By.ID, "assign-to") == [], "agents get no teammate menu"
    bob.element("#unassign").click()
    ann.wait(EC.text_to_be_present_in_element((By.ID, "assignee"), "Nobody"), message="Ann sees the unassign live")
    bob.element("#assign-me").click()
    ann.wait(EC.text_to_be_present_in_element((By.ID, "assignee"), "Bob"), message="Ann sees Bob take it")

    # Resolved: it leaves the open list of someone not looking at it; the customer writing reopens it.
    ann.driver.get(server.url + "/#/inbox")
    ann.wait(lambda _: row_psids(ann) == [conversation], message="Ann's open list")
    bob.element("#resolve").click()
    bob.wait(EC.text_to_be_present_in_element((By.ID, "conversation-status"), "Resolved"))
    ann.wait(lambda _: row_psids(ann) == [], message="the resolved conversation to leave Ann's open list")
    Select(ann.element("#status-filter")).select_by_value("resolved")
    ann.wait(lambda _: row_psids(ann) == [conversation], message="in the resolved list")
    Select(ann.element("#status-filter")).select_by_value("open")
    emulator.say(psid, "Sorry, one more question.")
    ann.wait(lambda _: row_psids(ann) == [conversation], message="reopened by the customer, back in the open list")
    bob.wait(EC.text_to_be_present_in_element((By.ID, "conversation-status"), "Open"))
    assert server.api(f"/api/conversations/{conversation}")["conversation"]["status"] == "open"


def test_status_screen_counts_and_updates_by_itself(dashboard):
    inst, server, emulator, browser, ann_address, bob_link = dashboard
    psid = emulator.add_customer("Lea", reads=True, last="Roth")
    emulator.say(psid, "Good morning!")
    conversation_of(server, psid)
    bob = browser()
    bob.sign_in_with(bob_link)
    bob.driver.get(server.url + "/#/status")
    bob.wait(lambda _: bob.text_of("#stat-in .card-value") == "1", message="one message in today")
    assert bob.text_of("#stat-waiting .card-value") == "1"
    assert bob.text_of("#stat-agents .card-value") == "1", "Bob himself is online"
    assert bob.text_of("#stat-redis") == "not configured (embedded queue)"
    assert bob.driver.find_element(By.ID, "metrics-link").get_attribute("href") == server.url + "/metrics"
    assert len(bob.driver.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar")) == 48, "24 hours of in and out"
    emulator.say(psid, "Are you there?")
    emulator.say(psid, "Hello?")
    bob.wait(lambda _: bob.text_of("#stat-in .card-value") == "3", 30, "the count to follow by itself")
    # Bob answers: a message out, a first response (by a person), nobody waiting any more.
    bob.driver.get(server.url + f"/#/inbox/{conversation_of(server, psid)['id']}")
    bob.element("#composer").send_keys("Good morning Lea, how can I help?", Keys.ENTER)
    bob.wait(lambda _: bob.message("Good morning Lea, how can I help?").get_attribute("data-status") in ("sent", "delivered", "read"), 30, "the reply")
    bob.driver.get(server.url + "/#/status")
    bob.wait(lambda _: bob.text_of("#stat-out .card-value") == "1", 30, "one message out")
    assert bob.text_of("#stat-waiting .card-value") == "0"
    assert bob.text_of("#stat-first-human .card-value").endswith(" s") or " min" in bob.text_of("#stat-first-human .card-value")
    assert bob.text_of("#stat-first-human .card-note") == "1 answered by a person"
    bob.driver.set_window_size(1280, 1150)  # the whole screen in the picture
    bob.screenshot("status")


@pytest.fixture
def postgres_dashboard(tmp_path):
    """The dashboard on PostgreSQL, so the test can stop the database under the server."""
    yield from dashboard_on("postgres", tmp_path)


def run_webhook_test(admin: Browser) -> dict[str, str]:
    """Presses Test Webhook and returns each line's text by check, once the answer is in."""
    admin.element("#test-webhook").click()  # clears the last answer and disables itself until the new one is in
    try:
        admin.wait(lambda _: admin.driver.find_element(By.ID, "test-webhook").is_enabled() and admin.driver.find_elements(By.ID, "webhook-test-summary"),
                   90, "the test's answer")
    except Exception as error:
        raise AssertionError(f"no report; the screen says: {admin.text_of('#webhook-test')!r}") from error
    return {line.get_attribute("data-check"): line.text for line in admin.driver.find_elements(By.CSS_SELECTOR, "#webhook-test .test-line")}


def test_webhook_test_reports_each_check_truthfully(postgres_dashboard):
    inst, server, emulator, browser, ann_address, bob_link = postgres_dashboard
    admin = browser()
    admin.sign_in_with(link_for(inst, server, ann_address))
    # Connected through the Pages screen (which subscribes the app): all green.
    admin.driver.get(server.url + "/#/pages")
    assert admin.element("#verify-token").get_attribute("value") == "e2e-verify-token"
    form = admin.element("#connect-page")
    form.find_element(By.NAME, "id").send_keys(DEMO_PAGE)
    form.find_element(By.NAME, "accessToken").send_keys(page_token(0))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    admin.wait(EC.text_to_be_present_in_element((By.ID, "page-result"), "Connected"))
    admin.driver.get(server.url + "/#/bot")
    lines = run_webhook_test(admin)
    assert admin.text_of("#webhook-test-summary") == "✅ Webhook test successful! Embedded queue in use (no Redis configured)."
    assert set(lines) == {"database", "redis", "webhook", "facebook_token", "facebook_subscription"}
    assert all(line.startswith("✅") for line in lines.values()), lines
    assert "postgresql answers" in lines["database"]
    assert not [c for c in server.all_conversations() if c["contact"]["psid"].startswith("switchboard-webhook-test-")], "the test event left nothing"
    admin.screenshot("bot-settings")

    # The database stops: its line, the round trip and the token (stored in it) fail; Redis does not.
    admin_url, name = inst.db.admin_url, inst.db.name
    psql(admin_url, f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
    psql(admin_url, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND backend_type = 'client backend'")
    try:
        lines = run_webhook_test(admin)
        assert admin.text_of("#webhook-test-summary").startswith("❌ Webhook test failed: Database, Webhook round trip, Facebook Page token")
        assert lines["database"].startswith("❌ Database") and "unavailable" in lines["database"], lines["database"]
        assert lines["webhook"].startswith("❌") and ("503" in lines["webhook"] or "did not answer" in lines["webhook"]), lines["webhook"]
        assert lines["facebook_token"].startswith("❌") and "could not be read" in lines["facebook_token"]
        assert lines["redis"].startswith("✅")
    finally:
        psql(admin_url, f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    # Back once the database is (its connection pool reconnects within a few presses).
    wait_until(lambda: all(line.startswith("✅") for line in run_webhook_test(admin).values()), 90, 0.5, "every check green again")

    # A token Meta refuses (the deployment's env has a stale one): the token line says so.
    server.kill9()
    server.env["FACEBOOK_PAGE_ACCESS_TOKEN"] = "EAAstale-token-e2e"
    server.start()
    admin.driver.get(server.url + "/#/bot")
    lines = run_webhook_test(admin)
    assert lines["facebook_token"].startswith("❌ Facebook Page token") and "190" in lines["facebook_token"], lines["facebook_token"]
    assert lines["facebook_subscription"].startswith("❌") and "Not checked" in lines["facebook_subscription"]
    assert lines["webhook"].startswith("✅") and lines["database"].startswith("✅")
