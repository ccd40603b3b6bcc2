/* Parley operations console: progressive enhancement only. Every page works without this file,
   except the live view of a room. No innerHTML with data: user content may contain markup. */
(function () {
  "use strict";

  var dateTimeFormat = makeFormat({ dateStyle: "medium", timeStyle: "medium" });
  var timeFormat = makeFormat({ timeStyle: "medium" });

  function makeFormat(options) {
    try {
      return new Intl.DateTimeFormat(undefined, options);
    } catch (e) {
      return null;
    }
  }

  function formatDate(date, format) {
    if (!format || isNaN(date.getTime())) return null;
    return format.format(date);
  }

  /* Small DOM helper: el("td", {className: "x"}, "text", childNode). Text is always set as text. */
  function el(tag, props) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (key) {
        if (key === "dataset") {
          Object.keys(props.dataset).forEach(function (d) { node.dataset[d] = props.dataset[d]; });
        } else if (key === "text") {
          node.textContent = props.text;
        } else {
          node[key] = props[key];
        }
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function timeElement(iso, format) {
    var node = el("time", { dateTime: iso || "" });
    var date = new Date(iso);
    var text = formatDate(date, format || dateTimeFormat);
    node.textContent = text || iso || "";
    if (text) node.title = date.toISOString();
    return node;
  }

  /* ---- Every page ---- */

  function localizeTimes(root) {
    var nodes = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      if (node.dataset.localized) continue;
      var date = new Date(node.getAttribute("datetime"));
      var text = formatDate(date, dateTimeFormat);
      if (!text) continue;
      node.title = node.textContent.trim();
      node.textContent = text;
      node.dataset.localized = "1";
    }
  }

  function confirmForms() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      var message = form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) event.preventDefault();
    }, true);
  }

  /* data-show-if="radioName=value": shown only while that radio of the same form is checked. */
  function conditionalFields() {
    var blocks = document.querySelectorAll("[data-show-if]");
    Array.prototype.forEach.call(blocks, function (block) {
      var form = block.closest("form");
      var rule = block.getAttribute("data-show-if").split("=");
      if (!form || rule.length !== 2) return;
      var radios = form.querySelectorAll('input[type="radio"][name="' + rule[0] + '"]');
      if (!radios.length) return;
      var update = function () {
        var checked = form.querySelector('input[type="radio"][name="' + rule[0] + '"]:checked');
        block.hidden = !checked || checked.value !== rule[1];
        /* Hidden fields are neither validated nor sent, so a stale value there cannot block the form. */
        Array.prototype.forEach.call(block.querySelectorAll("input, select, textarea"), function (field) {
          field.disabled = block.hidden;
        });
      };
      Array.prototype.forEach.call(radios, function (radio) { radio.addEventListener("change", update); });
      update();
    });
  }

  function autoSubmit() {
    var forms = document.querySelectorAll("form[data-autosubmit]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("change", function (event) {
        if (event.target instanceof HTMLSelectElement) form.submit();
      });
    });
  }

  function copyButtons() {
    var nodes = document.querySelectorAll("[data-copy]");
    Array.prototype.forEach.call(nodes, function (node) {
      var button = el("button", { type: "button", className: "button button-secondary button-small", text: "Copy" });
      button.addEventListener("click", function () {
        var text = node.textContent;
        var done = function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 2000);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { selectText(node); });
        } else {
          selectText(node);
        }
      });
      node.insertAdjacentElement("afterend", button);
    });
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  /* ---- Live view of a room ---- */

  var MAX_LINES = 1000;
  var MAX_FRAMES = 300;

  function parse(text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return null;
    }
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function attributesText(attributes) {
    if (!isObject(attributes)) return "";
    var keys = Object.keys(attributes);
    if (!keys.length) return "";
    return keys.map(function (k) { return k + "=" + String(attributes[k]); }).join(", ");
  }

  function Live(section) {
    this.section = section;
    this.config = section.dataset;
    this.canModerate = section.dataset.canModerate === "true";
    this.connections = new Map();
    this.messages = new Map();
    this.seen = new Set();
    this.sdk = null;
    this.room = null;
  }

  Live.prototype.part = function (name) {
    return this.section.querySelector('[data-live="' + name + '"]');
  };

  Live.prototype.start = function () {
    var self = this;
    Array.prototype.forEach.call(this.section.querySelectorAll(".js-only"), function (n) { n.hidden = false; });
    Array.prototype.forEach.call(this.section.querySelectorAll(".js-hide"), function (n) { n.hidden = true; });
    if (typeof window.EventSource !== "function") {
      this.setStatus("This browser cannot show the live view (no EventSource).", "down");
      return;
    }
    this.wireModeration();
    this.wireTestClient();
    this.part("clear").addEventListener("click", function () {
      self.part("transcript").textContent = "";
      self.messages.clear();
      self.updateEmpty();
    });
    this.connect();
  };

  Live.prototype.setStatus = function (text, state) {
    var status = this.part("status");
    status.textContent = text;
    status.classList.toggle("is-live", state === "live");
    status.classList.toggle("is-down", state === "down");
  };

  Live.prototype.connect = function () {
    var self = this;
    var source = new EventSource(this.config.eventsUrl);
    this.source = source;
    this.setStatus("Connecting…");
    source.addEventListener("open", function () { self.setStatus("Live", "live"); });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        self.setStatus("Disconnected from the server. Reload the page to reconnect (you may need to sign in again).", "down");
      } else {
        self.setStatus("Connection lost, reconnecting…", "down");
      }
    });
    var handlers = {
      snapshot: this.onSnapshot,
      connected: this.onConnected,
      disconnected: this.onDisconnected,
      delivery: this.onDelivery,
      rejected: this.onRejected,
      gap: this.onGap
    };
    Object.keys(handlers).forEach(function (name) {
      source.addEventListener(name, function (event) {
        var data = parse(event.data);
        if (data === null) return;
        handlers[name].call(self, data);
      });
    });
    window.addEventListener("pagehide", function () { source.close(); });
  };

  /* Connected users */

  Live.prototype.onSnapshot = function (data) {
    this.connections.clear();
    this.part("users").textContent = "";
    var list = Array.isArray(data.connections) ? data.connections : [];
    list.forEach(this.addConnection, this);
    this.updateCount();
  };

  Live.prototype.onConnected = function (connection) {
    this.addConnection(connection);
    this.updateCount();
  };

  Live.prototype.onDisconnected = function (data) {
    var row = this.connections.get(data.connectionId);
    if (row) {
      row.remove();
      this.connections.delete(data.connectionId);
    }
    this.updateCount();
  };

  Live.prototype.addConnection = function (c) {
    if (!isObject(c) || !c.connectionId) return;
    var self = this;
    var old = this.connections.get(c.connectionId);
    var capabilities = Array.isArray(c.capabilities) && c.capabilities.length ? c.capabilities.join(", ") : "receive only";
    var row = el("tr", { dataset: { connectionId: String(c.connectionId) } },
      el("td", { className: "wrap-anywhere", text: String(c.userId || "") }),
      el("td", { className: "line-meta", text: attributesText(c.attributes) || "—" }),
      el("td", { className: "caps", text: capabilities }),
      el("td", { className: "nowrap" }, timeElement(c.since)),
      el("td", { className: "mono", text: String(c.remoteAddress || "") }));
    if (this.canModerate) {
      var button = el("button", { type: "button", className: "button-link danger", text: "Disconnect" });
      button.addEventListener("click", function () { self.disconnectUser(String(c.userId || "")); });
      row.appendChild(el("td", null, button));
    }
    if (old) {
      old.replaceWith(row);
    } else {
      this.part("users").appendChild(row);
    }
    this.connections.set(c.connectionId, row);
  };

  Live.prototype.updateCount = function () {
    this.part("count").textContent = String(this.connections.size);
    this.part("users-empty").hidden = this.connections.size > 0;
  };

  Live.prototype.userFor = function (connectionId) {
    var row = this.connections.get(connectionId);
    return row ? row.firstChild.textContent : null;
  };

  /* Transcript */

  Live.prototype.appendLine = function (line) {
    var list = this.part("transcript");
    var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.appendChild(line);
    while (list.childElementCount > MAX_LINES) {
      var first = list.firstElementChild;
      if (first.dataset.messageId) this.messages.delete(first.dataset.messageId);
      first.remove();
    }
    if (atBottom) list.scrollTop = list.scrollHeight;
    this.updateEmpty();
  };

  Live.prototype.updateEmpty = function () {
    this.part("transcript-empty").hidden = this.part("transcript").childElementCount > 0;
  };

  Live.prototype.simpleLine = function (kind, label, text, iso) {
    return el("li", { className: "line line-" + kind },
      timeElement(iso || new Date().toISOString(), timeFormat),
      el("span", { className: "line-sender", text: label }),
      el("span", { className: "line-body", text: text }));
  };

  Live.prototype.onDelivery = function (frame) {
    if (!isObject(frame)) return;
    /* After a reconnect the server may replay a frame this page already shows. */
    var frameId = String(frame.Id || "");
    if (frameId) {
      if (this.seen.has(frameId)) return;
      this.seen.add(frameId);
      if (this.seen.size > MAX_LINES * 2) this.seen.delete(this.seen.values().next().value);
    }
    if (frame.Type === "MESSAGE") {
      this.appendLine(this.messageLine(frame));
    } else if (frame.Type === "EVENT") {
      this.eventLine(frame);
    }
  };

  Live.prototype.messageLine = function (frame) {
    var self = this;
    var sender = isObject(frame.Sender) ? frame.Sender : {};
    var userId = String(sender.UserId || "");
    var id = String(frame.Id || "");
    var line = el("li", { className: "line line-message", dataset: { messageId: id } },
      timeElement(frame.SendTime, timeFormat),
      el("span", { className: "line-sender", text: userId }),
      el("span", { className: "line-body", text: String(frame.Content || "") }));
    var meta = attributesText(frame.Attributes);
    line.appendChild(el("span", { className: "line-meta", text: (meta ? meta + " · " : "") + "id " + id }));
    if (this.canModerate) {
      var remove = el("button", { type: "button", className: "button-link danger", text: "Delete" });
      remove.addEventListener("click", function () { self.deleteMessage(id); });
      var disconnect = el("button", { type: "button", className: "button-link danger", text: "Disconnect sender" });
      disconnect.addEventListener("click", function () { self.disconnectUser(userId); });
      line.appendChild(el("span", { className: "line-actions" }, remove, disconnect));
    }
    if (id) this.messages.set(id, line);
    return line;
  };

  Live.prototype.eventLine = function (frame) {
    var attributes = isObject(frame.Attributes) ? frame.Attributes : {};
    var name = String(frame.EventName || "");
    if (name === "aws:DELETE_MESSAGE") {
      var messageId = String(attributes.MessageId || attributes.MessageID || "");
      var target = this.messages.get(messageId);
      var reason = attributes.Reason ? ": " + attributes.Reason : "";
      if (target) {
        target.classList.add("deleted");
        target.title = "Deleted" + reason;
      }
      this.appendLine(this.simpleLine("notice", "Message deleted", "Message " + messageId + " was deleted" + reason, frame.SendTime));
    } else if (name === "aws:DISCONNECT_USER") {
      var why = attributes.Reason ? ": " + attributes.Reason : "";
      this.appendLine(this.simpleLine("notice", "User disconnected", "User " + String(attributes.UserId || "") + " was disconnected" + why, frame.SendTime));
    } else {
      var line = this.simpleLine("event", "Event " + name, attributesText(attributes), frame.SendTime);
      line.appendChild(el("span", { className: "line-meta", text: "id " + String(frame.Id || "") }));
      this.appendLine(line);
    }
  };

  Live.prototype.onRejected = function (data) {
    var user = this.userFor(data.connectionId);
    var who = user ? "from " + user : "on connection " + String(data.connectionId || "");
    this.appendLine(this.simpleLine("error", "Rejected " + String(data.code || ""), String(data.message || "") + " (" + who + ")"));
  };

  Live.prototype.onGap = function (data) {
    var missed = Number(data.missed) || 0;
    this.appendLine(this.simpleLine("notice", "Skipped", missed + (missed === 1 ? " line was" : " lines were") + " skipped because this page fell behind."));
  };

  /* Moderation */

  Live.prototype.post = function (url, pairs) {
    var body = new URLSearchParams();
    body.append("csrf", this.config.csrf);
    pairs.forEach(function (pair) { body.append(pair[0], pair[1]); });
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
      body: body
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = parse(text);
        if (!response.ok || !isObject(data) || data.error) {
          var message = isObject(data) && data.error ? (typeof data.error === "string" ? data.error : data.error.message) : null;
          throw new Error(message || "The server answered " + response.status + ".");
        }
        return data;
      });
    });
  };

  Live.prototype.moderate = function (url, pairs) {
    var box = this.part("moderation-error");
    return this.post(url, pairs).then(function (data) {
      box.hidden = true;
      return data;
    }, function (error) {
      box.textContent = error.message;
      box.hidden = false;
      throw error;
    });
  };

  Live.prototype.deleteMessage = function (id) {
    var reason = window.prompt("Delete message " + id + "? Reason (optional):", "");
    if (reason === null) return;
    this.moderate(this.config.deleteMessageUrl, [["id", id], ["reason", reason]]).catch(function () {});
  };

  Live.prototype.disconnectUser = function (userId) {
    var reason = window.prompt("Disconnect every connection of user " + userId + "? Reason (optional):", "");
    if (reason === null) return;
    this.moderate(this.config.disconnectUserUrl, [["userId", userId], ["reason", reason]]).catch(function () {});
  };

  Live.prototype.wireModeration = function () {
    var self = this;
    var eventForm = this.part("send-event");
    if (eventForm) {
      eventForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var text = eventForm.elements.namedItem("attributes").value.trim() || "{}";
        var value = parse(text);
        if (!isObject(value)) {
          var box = self.part("moderation-error");
          box.textContent = "Attributes must be a JSON object, such as {\"text\": \"Welcome!\"}.";
          box.hidden = false;
          eventForm.elements.namedItem("attributes").focus();
          return;
        }
        self.moderate(self.config.sendEventUrl, [["eventName", eventForm.elements.eventName.value.trim()], ["attributes", text]])
          .then(function () { eventForm.elements.eventName.value = ""; }, function () {});
      });
    }
    var everyone = this.part("disconnect-everyone");
    if (everyone) {
      everyone.addEventListener("submit", function (event) {
        event.preventDefault();
        if (!window.confirm("Disconnect everyone connected to this room?")) return;
        self.moderate(self.config.disconnectEveryoneUrl, [["reason", everyone.elements.reason.value]]).catch(function () {});
      });
    }
  };

  /* Test client */

  Live.prototype.testStatus = function (text, state) {
    var status = this.part("test-status");
    status.textContent = text;
    status.classList.toggle("is-live", state === "live");
    status.classList.toggle("is-down", state === "down");
  };

  Live.prototype.frame = function (direction, text, kind) {
    var list = this.part("test-frames");
    list.appendChild(el("li", { className: "line" + (kind ? " line-" + kind : "") },
      timeElement(new Date().toISOString(), timeFormat),
      el("span", { className: "frame-dir", text: direction }),
      el("span", { className: "line-body", text: text })));
    while (list.childElementCount > MAX_FRAMES) list.firstElementChild.remove();
    list.scrollTop = list.scrollHeight;
  };

  Live.prototype.setTestConnected = function (connected) {
    var send = this.part("test-send");
    send.elements.content.disabled = !connected;
    send.querySelector("button").disabled = !connected;
    this.part("test-disconnect").disabled = !connected;
    this.part("test-connect-button").disabled = connected;
  };

  /* The test client is the browser SDK (Public/sdk/parley-chat.js), loaded when first used. It shows what a chat app
     built on it would see: every listener call and every request's answer. */
  var SDK_URL = "/assets/sdk/parley-chat.js";

  Live.prototype.wireTestClient = function () {
    var self = this;
    var form = this.part("test-connect");
    var sendForm = this.part("test-send");
    if (!form || !sendForm) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (typeof window.WebSocket !== "function") {
        self.testStatus("This browser has no WebSocket support.", "down");
        return;
      }
      var pairs = [["userId", form.elements.userId.value.trim()]];
      Array.prototype.forEach.call(form.querySelectorAll('input[name="capabilities"]:checked'), function (box) {
        pairs.push(["capabilities", box.value]);
      });
      pairs.push(["sessionDurationInMinutes", form.elements.sessionDurationInMinutes.value]);
      self.part("test-connect-button").disabled = true;
      self.testStatus("Requesting a token…");
      Promise.all([import(SDK_URL), self.post(self.config.testTokenUrl, pairs)]).then(function (results) {
        self.startTestRoom(results[0], results[1], pairs);
      }, function (error) {
        self.part("test-connect-button").disabled = false;
        self.testStatus(error.message, "down");
      });
    });
    this.part("test-disconnect").addEventListener("click", function () {
      if (self.room) self.room.disconnect();
    });
    sendForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = sendForm.elements.content;
      if (!self.room || self.room.state !== "connected" || !input.value) return;
      var request = new self.sdk.SendMessageRequest(input.value);
      self.frame("→", "sendMessage " + JSON.stringify(request));
      self.room.sendMessage(request).then(function (message) {
        self.frame("✓", "sent as message " + message.id + " (request " + message.requestId + ")");
      }, function (error) {
        self.frame("✗", "ERROR " + error.errorCode + ": " + error.errorMessage, "error");
      });
      input.value = "";
      input.focus();
    });
    window.addEventListener("pagehide", function () {
      if (self.room) self.room.disconnect();
    });
  };

  /* `first` is the token the Connect button fetched; reconnections fetch fresh ones the same way. */
  Live.prototype.startTestRoom = function (sdk, first, pairs) {
    var self = this;
    var url = String(first.url || "/");
    if (url.charAt(0) === "/") url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + url;
    var lastError = null;
    var wasConnected = false;
    function chatToken(data) {
      return { token: String(data.token || ""), sessionExpirationTime: data.sessionExpirationTime };
    }
    var room;
    try {
      room = new sdk.ChatRoom({
        regionOrUrl: url,
        tokenProvider: function () {
          if (first) {
            var data = first;
            first = null;
            return Promise.resolve(chatToken(data));
          }
          return self.post(self.config.testTokenUrl, pairs).then(chatToken, function (error) {
            lastError = error;
            throw error;
          });
        }
      });
    } catch (e) {
      this.part("test-connect-button").disabled = false;
      this.testStatus("Could not start the test client: " + e.message, "down");
      return;
    }
    this.sdk = sdk;
    this.room = room;
    room.addListener("connecting", function () {
      self.testStatus("Connecting…");
      if (wasConnected) self.frame("•", "Connection lost; reconnecting with a fresh token…", "notice");
    });
    room.addListener("connect", function () {
      wasConnected = true;
      lastError = null;
      self.testStatus("Connected", "live");
      self.frame("•", "Connected to " + url.split("?")[0], "notice");
      self.setTestConnected(true);
      self.part("test-send").elements.content.focus();
    });
    room.addListener("disconnect", function (reason) {
      if (self.room === room) self.room = null;
      self.setTestConnected(false);
      self.testStatus("Not connected");
      self.frame("•", "Disconnected: " + reason + (lastError ? " — " + lastError.message : ""),
        reason === "clientDisconnect" || reason === "serverDisconnect" ? "notice" : "error");
    });
    ["message", "event", "messageDelete", "userDisconnect"].forEach(function (name) {
      room.addListener(name, function (value) { self.frame("←", name + " " + JSON.stringify(value)); });
    });
    room.connect();
  };

  /* ---- Start ---- */

  function start() {
    document.documentElement.classList.add("js");
    localizeTimes(document);
    confirmForms();
    conditionalFields();
    autoSubmit();
    copyButtons();
    var section = document.getElementById("live");
    if (section && section.dataset.eventsUrl) new Live(section).start();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
