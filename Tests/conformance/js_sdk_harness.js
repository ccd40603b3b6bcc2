// Test harness for Public/sdk/parley-chat.js, injected by test_js_sdk_browser.py into a page served by Parley (so
// that the module and POST /console/chat-token are same-origin). It keeps, per client, everything the SDK reported.
window.sdkHarness = (function () {
  "use strict";

  const H = { sdk: null, c: {} };

  H.load = async function () {
    H.sdk = await import("/assets/sdk/parley-chat.js");
    return Object.keys(H.sdk).sort();
  };

  H.sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** Resolves once `predicate()` holds; rejects with `what` after `timeoutMs`. */
  H.until = async function (predicate, what, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what || predicate.toString()}`);
      await H.sleep(25);
    }
  };

  H.fetchToken = async function (body) {
    const response = await fetch("/console/chat-token", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-Parley-CSRF": "1" },
      body: JSON.stringify(body),
    });
    const json = await response.json();
    if (!response.ok) throw new Error(`token endpoint answered ${response.status}: ${json.error}`);
    return json;
  };

  /** A ChatRoom for one user, recording every listener call. */
  H.client = function (name, { room, userId, capabilities, maxReconnectAttempts, failTokens }) {
    const c = {
      name, log: [], messages: [], events: [], deletes: [], userDisconnects: [], disconnects: [], tokens: [], tokenCalls: 0,
    };
    c.room = new H.sdk.ChatRoom({
      regionOrUrl: `ws://${location.host}/`,
      maxReconnectAttempts,
      tokenProvider: async () => {
        c.tokenCalls += 1;
        if (failTokens) throw new Error("no token today");
        const token = await H.fetchToken({ roomIdentifier: room, userId, capabilities: capabilities || [] });
        c.tokens.push(token.token);
        // The SDK takes ISO strings or Dates; half the tokens come as Dates.
        if (c.tokens.length % 2 === 0) {
          token.sessionExpirationTime = new Date(token.sessionExpirationTime);
          token.tokenExpirationTime = new Date(token.tokenExpirationTime);
        }
        return token;
      },
    });
    c.unsubscribe = {
      connecting: c.room.addListener("connecting", () => c.log.push("connecting")),
      connect: c.room.addListener("connect", () => c.log.push("connect")),
      disconnect: c.room.addListener("disconnect", (reason) => {
        c.log.push(`disconnect:${reason}`);
        c.disconnects.push(reason);
      }),
      message: c.room.addListener("message", (m) => c.messages.push(m)),
      event: c.room.addListener("event", (e) => c.events.push(e)),
      messageDelete: c.room.addListener("messageDelete", (e) => c.deletes.push(e)),
      userDisconnect: c.room.addListener("userDisconnect", (e) => c.userDisconnects.push(e)),
    };
    H.c[name] = c;
    return c;
  };

  /** What a rejection carried, for Python to look at. */
  H.failure = async function (promise) {
    try {
      const value = await promise;
      return { resolved: H.plain(value) };
    } catch (error) {
      return {
        isChatError: error instanceof H.sdk.ChatError,
        isError: error instanceof Error,
        name: error.name,
        errorCode: error.errorCode,
        errorMessage: error.errorMessage,
        requestId: error.requestId,
      };
    }
  };

  /** JSON-safe copy; Dates become {date: iso} so Python can tell they were Dates. */
  H.plain = function (value) {
    if (value instanceof Date) return { date: value.toISOString() };
    if (Array.isArray(value)) return value.map(H.plain);
    if (value && typeof value === "object") {
      const out = {};
      for (const key of Object.keys(value)) if (value[key] !== undefined) out[key] = H.plain(value[key]);
      return out;
    }
    return value;
  };

  H.contents = (name) => H.c[name].messages.map((m) => m.content);

  return H;
})();
