"""The browser SDK (Public/sdk/parley-chat.js) and the Chatterbox example, in Debian's headless Chromium.

test_the_sdk_in_two_rooms drives the module directly from a page served by Parley (js_sdk_harness.js is injected
into it): three users in two rooms, messages delivered to their room only, send/delete/disconnect promises resolved
by the matching frames, ERROR frames rejecting with their code, a moderator's disconnect ending the other user's
room for good, and — when the server drops every socket (it is restarted on the same port) — reconnection with a
fresh token from the console's chat-token endpoint.

test_chatterbox walks through Public/examples/chatterbox.html as its README section describes: signed out it says
so, signed in it joins, sends, deletes and disconnects another user.

Needs: Debian packages `chromium` and `chromium-driver`; PyPI `selenium` (requirements.txt).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from parley_support import chat_token, recv_until, recv_until_closed, send_json, ws_connect
from test_console_browser import ARTIFACTS, CHROMEDRIVER, CHROMIUM, browser  # noqa: F401 (the fixture)

ADMIN_PASSWORD = "js-sdk-test-password-1"
HARNESS = (Path(__file__).resolve().parent / "js_sdk_harness.js").read_text()
ALL = ["SEND_MESSAGE", "DELETE_MESSAGE", "DISCONNECT_USER"]
WAIT_S = 15

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)",
)

# What a browser logs while a server is down or refuses a token is the test's doing, not a page error.
EXPECTED_NOISE = ("WebSocket connection to", "Failed to load resource", "ERR_CONNECTION_REFUSED", "Failed to fetch", "/favicon.ico")


def run(driver, body: str, *args: Any) -> Any:
    """Runs `body` as an async function (H is the harness, args are arguments[0..]); returns its value or fails."""
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const args = Array.prototype.slice.call(arguments, 0, -1);
        const H = window.sdkHarness;
        (async function (H, args) { %s })(H, args).then(
          (value) => done({ ok: value === undefined ? null : value }),
          (error) => done({ error: String((error && (error.stack || error.message)) || error) }));
        """
        % body,
        *args,
    )
    assert "error" not in result, result["error"]
    return result["ok"]


def sign_in(driver, endpoint: str) -> None:
    driver.get(endpoint + "/console/sign-in")
    driver.find_element(By.ID, "sign-in-user").send_keys("admin")
    driver.find_element(By.ID, "sign-in-password").send_keys(ADMIN_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]").click()
    WebDriverWait(driver, WAIT_S).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Dashboard"))


def page_errors(driver) -> list[str]:
    errors = []
    for entry in driver.get_log("browser"):
        message = entry.get("message", "")
        if entry.get("level") == "SEVERE" and not any(noise in message for noise in EXPECTED_NOISE):
            errors.append(f"{entry.get('source')}: {message}")
    return errors


def restart_on_the_same_port(srv) -> None:
    """Stops the server (every socket drops) and starts it again where the page's clients will look for it."""
    port = srv.port
    srv.stop()
    with mock.patch("parley_support.free_port", return_value=port):
        srv.start()
    assert srv.port == port


def test_the_sdk_in_two_rooms(start_server, browser):  # noqa: F811
    srv = start_server(PARLEY_ADMIN_PASSWORD=ADMIN_PASSWORD)
    client = srv.client()
    room_a = client.create_room(name="js-sdk-a")
    room_b = client.create_room(name="js-sdk-b")
    driver = browser
    driver.set_script_timeout(60)

    # The chat-token endpoint refuses a browser that is not signed in, and cross-origin or header-less calls.
    assert requests.post(srv.endpoint + "/console/chat-token", json={}, headers={"X-Parley-CSRF": "1"}).status_code == 401

    sign_in(driver, srv.endpoint)
    driver.get(srv.endpoint + "/assets/examples/chatterbox.html")
    driver.execute_script(HARNESS)
    exports = run(driver, "return await H.load();")
    assert {"ChatRoom", "ChatError", "SendMessageRequest", "DeleteMessageRequest", "DisconnectUserRequest"} <= set(exports)
    no_header = run(
        driver,
        """const r = await fetch('/console/chat-token', {method: 'POST', headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({roomIdentifier: args[0], userId: 'x'})});
           return [r.status, (await r.json()).error];""",
        room_a["id"],
    )
    assert no_header[0] == 403 and "CSRF" in no_header[1], no_header

    # ---- alice (moderator) and bob in room A, carol in room B
    states = run(
        driver,
        """
        H.client('alice', {room: args[0], userId: 'alice', capabilities: args[2], maxReconnectAttempts: 8});
        H.client('bob', {room: args[0], userId: 'bob', capabilities: ['SEND_MESSAGE']});
        H.client('carol', {room: args[1], userId: 'carol', capabilities: ['SEND_MESSAGE'], maxReconnectAttempts: 8});
        const before = Object.values(H.c).map((c) => c.room.state);
        for (const c of Object.values(H.c)) c.room.connect();
        const during = Object.values(H.c).map((c) => c.room.state);
        await H.until(() => Object.values(H.c).every((c) => c.room.state === 'connected'), 'three connections');
        return {before, during, logs: Object.values(H.c).map((c) => c.log)};
        """,
        room_a["arn"],
        room_b["id"],
        ALL,
    )
    assert states["before"] == ["disconnected"] * 3
    assert states["during"] == ["connecting"] * 3
    assert states["logs"] == [["connecting", "connect"]] * 3

    # ---- messages reach their own room only; sendMessage resolves with the sender's own MESSAGE
    sent = run(
        driver,
        """
        const request = new H.sdk.SendMessageRequest('hello A', {mood: 'happy'});
        const message = await H.c.alice.room.sendMessage(request);
        const other = await H.c.carol.room.sendMessage(new H.sdk.SendMessageRequest('hello B'));
        await H.until(() => H.contents('bob').includes('hello A') && H.contents('carol').includes('hello B'), 'deliveries');
        await H.sleep(300);
        return {request: H.plain(request), message: H.plain(message), isDate: message.sendTime instanceof Date,
                other: H.plain(other), alice: H.contents('alice'), bob: H.contents('bob'), carol: H.contents('carol')};
        """,
    )
    message = sent["message"]
    assert message["content"] == "hello A" and message["attributes"] == {"mood": "happy"}, message
    assert message["requestId"] == sent["request"]["requestId"], sent
    assert message["sender"]["userId"] == "alice" and len(message["id"]) == 12, message
    assert sent["isDate"] and message["sendTime"]["date"].endswith("Z"), message
    assert sent["alice"] == ["hello A"] and sent["bob"] == ["hello A"], sent
    assert sent["carol"] == ["hello B"], "room B hears only room B"

    # ---- deleteMessage resolves with the DeleteMessageEvent; everyone in the room gets messageDelete
    deleted = run(
        driver,
        """
        const spam = await H.c.bob.room.sendMessage(new H.sdk.SendMessageRequest('buy now'));
        const request = new H.sdk.DeleteMessageRequest(spam.id, 'spam');
        const event = await H.c.alice.room.deleteMessage(request);
        await H.until(() => H.c.bob.deletes.length === 1, "bob's messageDelete");
        return {spam: spam.id, request: request.requestId, event: H.plain(event), bob: H.plain(H.c.bob.deletes[0]),
                carol: H.c.carol.deletes.length, events: H.c.bob.events.length};
        """,
    )
    assert deleted["event"]["messageId"] == deleted["spam"] and deleted["event"]["reason"] == "spam", deleted
    assert deleted["event"]["requestId"] == deleted["request"], deleted
    assert deleted["bob"]["messageId"] == deleted["spam"], deleted
    assert deleted["carol"] == 0 and deleted["events"] == 0, "system events go to their own listeners, in their room"

    # ---- ERROR frames reject with a ChatError carrying the frame's code and the request's id
    errors = run(
        driver,
        """
        const bobDelete = new H.sdk.DeleteMessageRequest('AAAAAAAAAAAA');
        const forbidden = await H.failure(H.c.bob.room.deleteMessage(bobDelete));
        const empty = await H.failure(H.c.carol.room.sendMessage(new H.sdk.SendMessageRequest('')));
        const large = await H.failure(H.c.carol.room.sendMessage(new H.sdk.SendMessageRequest('x', {big: 'y'.repeat(2000)})));
        const stillConnected = [H.c.bob.room.state, H.c.carol.room.state];
        return {forbidden, empty, large, requestId: bobDelete.requestId, stillConnected};
        """,
    )
    assert errors["forbidden"]["isChatError"] and errors["forbidden"]["isError"], errors
    assert errors["forbidden"]["errorCode"] == 403 and "DELETE_MESSAGE" in errors["forbidden"]["errorMessage"], errors
    assert errors["forbidden"]["requestId"] == errors["requestId"], errors
    assert errors["empty"]["errorCode"] == 400, errors
    assert errors["large"]["errorCode"] == 413, errors
    assert errors["stillConnected"] == ["connected", "connected"]

    # ---- disconnectUser resolves with the DisconnectUserEvent; bob is disconnected for good (serverDisconnect)
    kicked = run(
        driver,
        """
        const event = await H.c.alice.room.disconnectUser(new H.sdk.DisconnectUserRequest('bob', 'bye'));
        await H.until(() => H.c.bob.room.state === 'disconnected', "bob's disconnect");
        await H.sleep(1500);
        return {event: H.plain(event), bob: H.c.bob.log, bobTokens: H.c.bob.tokenCalls, seen: H.plain(H.c.alice.userDisconnects)};
        """,
    )
    assert kicked["event"]["userId"] == "bob" and kicked["event"]["reason"] == "bye", kicked
    assert kicked["bob"] == ["connecting", "connect", "disconnect:serverDisconnect"], kicked
    assert kicked["bobTokens"] == 1, "a disconnected user is not reconnected"
    assert [e["userId"] for e in kicked["seen"]] == ["bob"]

    # ---- the server drops every socket (restart): alice and carol come back with fresh tokens
    restart_on_the_same_port(srv)
    back = run(
        driver,
        """
        const both = [H.c.alice, H.c.carol];
        await H.until(() => both.every((c) => c.log.length >= 4 && c.room.state === 'connected'), 'reconnection', 30000);
        const message = await H.c.alice.room.sendMessage(new H.sdk.SendMessageRequest('back again'));
        return {logs: both.map((c) => c.log), tokens: both.map((c) => c.tokens), content: message.content};
        """,
    )
    for log in back["logs"]:
        assert log == ["connecting", "connect", "connecting", "connect"], back
    for tokens in back["tokens"]:
        assert len(tokens) == 2 and tokens[0] != tokens[1], "a fresh token for the new connection"
    assert back["content"] == "back again"

    # ---- a token provider that keeps failing: fetchTokenError after 1 + maxReconnectAttempts tries
    failing = run(
        driver,
        """
        const c = H.client('nobody', {room: args[0], userId: 'nobody', failTokens: true, maxReconnectAttempts: 2});
        c.room.connect();
        await H.until(() => c.room.state === 'disconnected', 'giving up');
        return {log: c.log, calls: c.tokenCalls};
        """,
        room_a["id"],
    )
    assert failing == {"log": ["connecting", "disconnect:fetchTokenError"], "calls": 3}, failing

    # ---- unsubscribing stops the listener; disconnect() ends with clientDisconnect; requests then reject
    ended = run(
        driver,
        """
        H.c.alice.unsubscribe.message();
        await H.c.carol.room.sendMessage(new H.sdk.SendMessageRequest('after unsubscribe'));
        const before = H.c.alice.messages.length;
        await H.c.alice.room.sendMessage(new H.sdk.SendMessageRequest('not recorded'));
        const after = H.c.alice.messages.length;
        H.c.alice.room.disconnect();
        const state = H.c.alice.room.state;
        const late = await H.failure(H.c.alice.room.sendMessage(new H.sdk.SendMessageRequest('too late')));
        return {before, after, state, log: H.c.alice.log, late};
        """,
    )
    assert ended["before"] == ended["after"], ended
    assert ended["state"] == "disconnected" and ended["log"][-1] == "disconnect:clientDisconnect", ended
    assert ended["late"]["isChatError"] and ended["late"]["errorCode"] == 0, ended

    assert not page_errors(driver)


def test_chatterbox(start_server, browser):  # noqa: F811
    srv = start_server(PARLEY_ADMIN_PASSWORD=ADMIN_PASSWORD)
    room = srv.client().create_room(name="chatterbox")
    driver = browser
    wait = WebDriverWait(driver, WAIT_S)
    url = f"{srv.endpoint}/assets/examples/chatterbox.html?room={room['id']}"

    def state_is(text: str):
        return EC.text_to_be_present_in_element((By.ID, "connection-state"), f"Connection State: {text}")

    # ---- signed out: joining fails with a pointer to the console's sign-in
    driver.get(url)
    wait.until(lambda d: d.find_element(By.ID, "no-script").is_displayed() is False)
    assert driver.find_element(By.ID, "room").get_attribute("value") == room["id"]
    driver.find_element(By.ID, "join-button").click()
    wait.until(EC.visibility_of_element_located((By.ID, "signed-out")))
    assert "chat token" in driver.find_element(By.ID, "error").text
    sign_in_link = driver.find_element(By.ID, "sign-in-link").get_attribute("href")
    assert "/console/sign-in?next=%2Fassets%2Fexamples%2Fchatterbox.html" in sign_in_link, sign_in_link

    # ---- sign in through that link: back on Chatterbox, join as Mike (moderator)
    driver.get(sign_in_link)
    driver.find_element(By.ID, "sign-in-user").send_keys("admin")
    driver.find_element(By.ID, "sign-in-password").send_keys(ADMIN_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]").click()
    wait.until(EC.url_to_be(url))
    driver.find_element(By.ID, "join-button").click()
    wait.until(state_is("connected"))

    with contextlib.ExitStack() as stack:
        viewer = stack.enter_context(
            contextlib.closing(ws_connect(srv, chat_token(srv.client(), room["arn"], "viewer", ["SEND_MESSAGE"])))
        )
        # Mike sends; the viewer hears it
        box = driver.find_element(By.ID, "message-input")
        box.send_keys("hello from chatterbox")
        driver.find_element(By.ID, "send-button").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#messages li.message.mine")))
        heard = recv_until(viewer, lambda f: f.get("Type") == "MESSAGE")[0]
        assert heard["Content"] == "hello from chatterbox" and heard["Sender"]["UserId"] == "Mike", heard

        # the viewer speaks; Mike deletes it
        send_json(viewer, {"Action": "SEND_MESSAGE", "RequestId": "v-1", "Content": "spoiler!"})
        spoiler = recv_until(viewer, lambda f: f.get("RequestId") == "v-1")[0]
        theirs = f'#messages li.message[data-id="{spoiler["Id"]}"]'
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, theirs)))
        assert "mine" not in driver.find_element(By.CSS_SELECTOR, theirs).get_attribute("class")
        driver.find_element(By.CSS_SELECTOR, theirs + " button.delete").click()
        wait.until(EC.invisibility_of_element_located((By.CSS_SELECTOR, theirs)))
        deleted = recv_until(viewer, lambda f: f.get("EventName") == "aws:DELETE_MESSAGE")[0]
        assert deleted["Attributes"]["MessageId"] == spoiler["Id"], deleted

        # the viewer speaks again; Mike disconnects them
        send_json(viewer, {"Action": "SEND_MESSAGE", "RequestId": "v-2", "Content": "still here"})
        again = recv_until(viewer, lambda f: f.get("RequestId") == "v-2")[0]
        line = f'#messages li.message[data-id="{again["Id"]}"]'
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, line)))
        driver.find_element(By.CSS_SELECTOR, line + " button.disconnect").click()
        _, code, _ = recv_until_closed(viewer)
        assert code == 1001, code
        wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#messages li.system"), "viewer was disconnected"))

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "chatterbox.png"))

    # ---- leave
    driver.find_element(By.ID, "leave-button").click()
    wait.until(state_is("disconnected"))
    assert driver.find_element(By.ID, "send-button").get_attribute("disabled") is not None
    assert not driver.find_element(By.ID, "error").is_displayed()
    assert not page_errors(driver)


# A WebSocket stand-in, for what the real server does only after a session's minutes have run out.
FAKE_SOCKET = """
window.fakeSockets = [];
window.RealWebSocket = window.RealWebSocket || window.WebSocket;
window.WebSocket = class FakeWebSocket extends EventTarget {
  static OPEN = 1;
  constructor(url, protocol) { super(); this.url = url; this.protocol = protocol; this.readyState = 0; this.sent = []; fakeSockets.push(this); }
  send(text) { this.sent.push(JSON.parse(text)); }
  close(code, reason) { this.readyState = 3; }
  serverOpen() { this.readyState = 1; this.dispatchEvent(new Event('open')); }
  serverSend(frame) { this.dispatchEvent(new MessageEvent('message', {data: JSON.stringify(frame)})); }
  serverClose(code, reason) { this.readyState = 3; this.dispatchEvent(new CloseEvent('close', {code, reason})); }
};
"""


def test_session_expiry_reconnects_at_once_and_fails_waiting_requests(start_server, browser):  # noqa: F811
    srv = start_server()
    driver = browser
    driver.set_script_timeout(30)
    driver.get(srv.endpoint + "/assets/examples/chatterbox.html")
    driver.execute_script(HARNESS)
    run(driver, "await H.load();")
    driver.execute_script(FAKE_SOCKET)
    result = run(
        driver,
        """
        let issued = 0;
        const log = [];
        const room = new H.sdk.ChatRoom({regionOrUrl: 'ws://parley.test', maxReconnectAttempts: 0,
          tokenProvider: async () => ({token: `token-${++issued}`, sessionExpirationTime: new Date(Date.now() + 60000)})});
        for (const name of ['connecting', 'connect', 'disconnect']) room.addListener(name, (r) => log.push(r ? `${name}:${r}` : name));
        room.connect();
        await H.until(() => fakeSockets.length === 1, 'first socket');
        fakeSockets[0].serverOpen();
        const request = new H.sdk.SendMessageRequest('hello');
        const waiting = H.failure(room.sendMessage(request));
        const sent = fakeSockets[0].sent[0];
        // the session ends: the server closes with its 401 reason; a fresh token is used at once, with no backoff
        const expiredAt = Date.now();
        fakeSockets[0].serverClose(1000, '{"ErrorCode":401,"ErrorMessage":"Session expired"}');
        const lost = await waiting;
        await H.until(() => fakeSockets.length === 2, 'second socket', 200);
        const delay = Date.now() - expiredAt;
        fakeSockets[1].serverOpen();
        // frames are case-insensitive on the wire; a reply with another request's id resolves nothing
        const answer = room.sendMessage(new H.sdk.SendMessageRequest('again'));
        const id = fakeSockets[1].sent[0].RequestId;
        fakeSockets[1].serverSend({type: 'MESSAGE', id: 'AAAAAAAAAAAA', requestid: id, content: 'again', sendtime: '2026-01-01T00:00:00.000Z',
                                   sender: {userid: 'me', attributes: {}}, attributes: {}});
        const message = await answer;
        window.WebSocket = window.RealWebSocket;
        return {sent, requestId: request.requestId, lost, delay, protocols: fakeSockets.map((s) => s.protocol),
                urls: fakeSockets.map((s) => s.url), log, message: H.plain(message)};
        """,
    )
    assert result["sent"] == {"Action": "SEND_MESSAGE", "RequestId": result["requestId"], "Content": "hello"}, result
    assert result["lost"]["isChatError"] and result["lost"]["errorCode"] == 0, result
    assert result["lost"]["requestId"] == result["requestId"], result
    assert result["protocols"] == ["token-1", "token-2"], "the token is the subprotocol, fresh for each connection"
    assert result["urls"] == ["ws://parley.test", "ws://parley.test"]
    assert result["delay"] < 200, "a session that ended is renewed at once, even with maxReconnectAttempts 0"
    assert result["log"] == ["connecting", "connect", "connecting", "connect"], result
    assert result["message"]["content"] == "again" and result["message"]["sender"]["userId"] == "me", result
    assert result["message"]["sendTime"] == {"date": "2026-01-01T00:00:00.000Z"}
