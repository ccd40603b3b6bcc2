/**
 * Parley chat client for browsers: an ES module with no dependencies and no build step, shaped like the
 * Amazon IVS Chat Client Messaging JavaScript SDK (amazon-ivs-chat-messaging), so its tutorials translate line
 * for line.
 *
 *   import { ChatRoom, SendMessageRequest } from "/assets/sdk/parley-chat.js";
 *
 *   const room = new ChatRoom({
 *     regionOrUrl: "ws://127.0.0.1:8080",           // Parley's messaging endpoint (or an AWS region for IVS itself)
 *     tokenProvider: async () => {                  // called for every connection attempt: tokens work once
 *       const response = await fetch(...);          // your backend calls CreateChatToken
 *       return await response.json();               // {token, sessionExpirationTime, tokenExpirationTime}
 *     },
 *   });
 *   const unsubscribe = room.addListener("message", (message) => console.log(message.sender.userId, message.content));
 *   room.connect();
 *   const message = await room.sendMessage(new SendMessageRequest("hello"));
 *
 * Events: "connecting", "connect", "disconnect" (with the reason: "clientDisconnect" | "serverDisconnect" |
 * "socketError" | "fetchTokenError"), "message", "event" (custom events), "messageDelete" (aws:DELETE_MESSAGE),
 * "userDisconnect" (aws:DISCONNECT_USER).
 *
 * Requests resolve with the MESSAGE or EVENT the server broadcasts for them (matched by RequestId) and reject with a
 * ChatError {errorCode, errorMessage, requestId}: errorCode is the ERROR frame's code (400, 401, 403, 404, 406, 413,
 * 429, 500), or 0 when the request never got an answer (not connected, or the connection was lost first).
 */

const DEFAULT_MAX_RECONNECT_ATTEMPTS = 3;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30000;

const LISTENER_NAMES = ["connecting", "connect", "disconnect", "message", "event", "messageDelete", "userDisconnect"];

/** A request the server refused (an ERROR frame), or one that could not be answered (errorCode 0). */
export class ChatError extends Error {
  constructor(errorCode, errorMessage, requestId) {
    super(errorCode ? `${errorCode}: ${errorMessage}` : errorMessage);
    this.name = "ChatError";
    this.errorCode = errorCode;
    this.errorMessage = errorMessage;
    this.requestId = requestId;
  }
}

/** Random RFC 4122 version 4 id; crypto.getRandomValues works outside secure contexts too (randomUUID does not). */
function newRequestId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Sends a chat message; needs the SEND_MESSAGE capability. Resolves with the ChatMessage as delivered. */
export class SendMessageRequest {
  constructor(content, attributes) {
    this.requestId = newRequestId();
    this.content = content;
    if (attributes !== undefined) this.attributes = attributes;
  }

  toFrame() {
    const frame = { Action: "SEND_MESSAGE", RequestId: this.requestId, Content: this.content };
    if (this.attributes !== undefined) frame.Attributes = this.attributes;
    return frame;
  }
}

/** Deletes a message for everyone; needs DELETE_MESSAGE. Resolves with the DeleteMessageEvent. */
export class DeleteMessageRequest {
  constructor(id, reason) {
    this.requestId = newRequestId();
    this.id = id;
    if (reason !== undefined) this.reason = reason;
  }

  toFrame() {
    const frame = { Action: "DELETE_MESSAGE", RequestId: this.requestId, Id: this.id };
    if (this.reason !== undefined) frame.Reason = this.reason;
    return frame;
  }
}

/** Disconnects every connection of a user from the room; needs DISCONNECT_USER. Resolves with the DisconnectUserEvent. */
export class DisconnectUserRequest {
  constructor(userId, reason) {
    this.requestId = newRequestId();
    this.userId = userId;
    if (reason !== undefined) this.reason = reason;
  }

  toFrame() {
    const frame = { Action: "DISCONNECT_USER", RequestId: this.requestId, UserId: this.userId };
    if (this.reason !== undefined) frame.Reason = this.reason;
    return frame;
  }
}

/* ---- Frames to SDK objects ---- */

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A frame's field by name, matched case-insensitively as the server matches ours. */
function field(frame, name) {
  if (name in frame) return frame[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(frame)) {
    if (key.toLowerCase() === lower) return frame[key];
  }
  return undefined;
}

function text(value) {
  return typeof value === "string" ? value : value === undefined || value === null ? "" : String(value);
}

function stringMap(value) {
  const result = {};
  if (isObject(value)) {
    for (const key of Object.keys(value)) result[key] = text(value[key]);
  }
  return result;
}

function optional(value) {
  const string = text(value);
  return string === "" ? undefined : string;
}

function toDate(value) {
  if (value instanceof Date) return value;
  if (value === undefined || value === null || value === "") return undefined;
  return new Date(value);
}

function chatMessage(frame) {
  const sender = isObject(field(frame, "Sender")) ? field(frame, "Sender") : {};
  return {
    id: text(field(frame, "Id")),
    requestId: optional(field(frame, "RequestId")),
    content: text(field(frame, "Content")),
    attributes: stringMap(field(frame, "Attributes")),
    sendTime: toDate(field(frame, "SendTime")),
    sender: { userId: text(field(sender, "UserId")), attributes: stringMap(field(sender, "Attributes")) },
  };
}

function chatEvent(frame) {
  return {
    id: text(field(frame, "Id")),
    requestId: optional(field(frame, "RequestId")),
    eventName: text(field(frame, "EventName")),
    attributes: stringMap(field(frame, "Attributes")),
    sendTime: toDate(field(frame, "SendTime")),
  };
}

function deleteMessageEvent(event) {
  return {
    id: event.id,
    requestId: event.requestId,
    messageId: event.attributes.MessageId || event.attributes.MessageID || "",
    reason: optional(event.attributes.Reason),
    sendTime: event.sendTime,
    attributes: event.attributes,
  };
}

function disconnectUserEvent(event) {
  return {
    id: event.id,
    requestId: event.requestId,
    userId: event.attributes.UserId || "",
    reason: optional(event.attributes.Reason),
    sendTime: event.sendTime,
    attributes: event.attributes,
  };
}

/** The `{"ErrorCode":…,"ErrorMessage":…}` a server close frame's reason may carry. */
function closeError(reason) {
  try {
    const value = JSON.parse(reason);
    return isObject(value) ? Number(field(value, "ErrorCode")) || 0 : 0;
  } catch (ignored) {
    return 0;
  }
}

function messagingURL(regionOrUrl) {
  const value = text(regionOrUrl);
  if (/^wss?:\/\//i.test(value)) return value;
  if (/^https?:\/\//i.test(value)) return value.replace(/^http/i, "ws");
  return `wss://edge.ivschat.${value}.amazonaws.com`;
}

/* ---- The room ---- */

/**
 * One user's connection to one chat room, re-established with a fresh token when the socket fails or the session
 * expires (up to maxReconnectAttempts times in a row, with exponential backoff and jitter).
 */
export class ChatRoom {
  constructor(config) {
    const { regionOrUrl, tokenProvider, maxReconnectAttempts = DEFAULT_MAX_RECONNECT_ATTEMPTS } = config || {};
    if (typeof tokenProvider !== "function") throw new TypeError("ChatRoom needs a tokenProvider function");
    this.regionOrUrl = regionOrUrl;
    this.tokenProvider = tokenProvider;
    this.maxReconnectAttempts = Math.max(0, Number(maxReconnectAttempts) || 0);
    this._url = messagingURL(regionOrUrl);
    this._state = "disconnected";
    this._listeners = new Map(LISTENER_NAMES.map((name) => [name, new Set()]));
    this._socket = null;
    this._pending = new Map();
    this._attempts = 0;
    this._timer = null;
    /* Every connection attempt gets a number; callbacks of an abandoned attempt see a newer one and do nothing. */
    this._generation = 0;
  }

  /** "disconnected" | "connecting" | "connected". */
  get state() {
    return this._state;
  }

  /** Calls `listener` on each `name` event; returns the function that unsubscribes it. */
  addListener(name, listener) {
    const set = this._listeners.get(name);
    if (!set) throw new TypeError(`Unknown ChatRoom event "${name}"; use one of ${LISTENER_NAMES.join(", ")}`);
    if (typeof listener !== "function") throw new TypeError("addListener needs a function");
    const entry = (...args) => listener(...args);
    set.add(entry);
    return () => set.delete(entry);
  }

  /** Starts connecting; does nothing unless disconnected. */
  connect() {
    if (this._state !== "disconnected") return;
    this._attempts = 0;
    this._setState("connecting");
    this._emit("connecting");
    this._attempt();
  }

  /** Closes the connection (or stops connecting); emits "disconnect" with "clientDisconnect". */
  disconnect() {
    if (this._state === "disconnected") return;
    const socket = this._abandon();
    if (socket) {
      try {
        socket.close(1000, "Client disconnect");
      } catch (ignored) {
        /* already closing */
      }
    }
    this._finish("clientDisconnect");
  }

  sendMessage(request) {
    return this._perform(request, "MESSAGE");
  }

  deleteMessage(request) {
    return this._perform(request, "aws:DELETE_MESSAGE");
  }

  disconnectUser(request) {
    return this._perform(request, "aws:DISCONNECT_USER");
  }

  /* ---- Connecting ---- */

  async _attempt() {
    const generation = ++this._generation;
    let token;
    try {
      token = await this.tokenProvider();
      if (!isObject(token) || typeof token.token !== "string" || token.token === "") {
        throw new TypeError("tokenProvider must resolve to {token, sessionExpirationTime, tokenExpirationTime}");
      }
    } catch (error) {
      if (generation !== this._generation) return;
      this._lastError = error;
      this._retry("fetchTokenError");
      return;
    }
    if (generation !== this._generation) return;
    this._token = {
      token: token.token,
      sessionExpirationTime: toDate(token.sessionExpirationTime),
      tokenExpirationTime: toDate(token.tokenExpirationTime),
    };
    let socket;
    try {
      socket = new WebSocket(this._url, token.token);
    } catch (error) {
      this._lastError = error;
      this._retry("socketError");
      return;
    }
    this._socket = socket;
    let opened = false;
    socket.addEventListener("open", () => {
      if (generation !== this._generation) return;
      opened = true;
      this._attempts = 0;
      this._setState("connected");
      this._emit("connect");
    });
    socket.addEventListener("message", (event) => {
      if (generation !== this._generation) return;
      if (typeof event.data === "string") this._onFrame(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (generation !== this._generation) return;
      this._socket = null;
      this._rejectPending("The connection closed before the server answered");
      this._onClose(opened, event);
    });
  }

  _onClose(opened, event) {
    const code = closeError(event.reason);
    if (!opened) {
      /* The handshake failed: the server refused the token, or could not be reached. */
      this._retry("socketError");
      return;
    }
    if (code === 403) {
      /* A moderator's DisconnectUser: the server does not want this user back. */
      this._finish("serverDisconnect");
      return;
    }
    this._setState("connecting");
    this._emit("connecting");
    if (code === 401) {
      /* The session ended: a fresh token, right away. */
      this._attempt();
    } else {
      this._retry("socketError");
    }
  }

  /** After a failed attempt: try again after a backoff, unless the attempts are used up. */
  _retry(reason) {
    if (this._attempts >= this.maxReconnectAttempts) {
      this._finish(reason);
      return;
    }
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this._attempts) * (0.5 + Math.random() / 2);
    this._attempts += 1;
    const generation = ++this._generation;
    this._timer = setTimeout(() => {
      this._timer = null;
      if (generation === this._generation) this._attempt();
    }, delay);
  }

  /** Forgets the current attempt (its callbacks become no-ops); returns its socket, if any. */
  _abandon() {
    this._generation += 1;
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    const socket = this._socket;
    this._socket = null;
    this._rejectPending("Disconnected before the server answered");
    return socket;
  }

  _finish(reason) {
    this._abandon();
    this._setState("disconnected");
    this._emit("disconnect", reason);
  }

  _setState(state) {
    this._state = state;
  }

  _emit(name, ...args) {
    for (const listener of Array.from(this._listeners.get(name))) {
      try {
        listener(...args);
      } catch (error) {
        /* One listener's bug must not stop the room or the other listeners. */
        if (typeof reportError === "function") {
          reportError(error);
        } else {
          setTimeout(() => {
            throw error;
          });
        }
      }
    }
  }

  /* ---- Requests ---- */

  _perform(request, answer) {
    const requestId = request && request.requestId;
    if (!request || typeof request.toFrame !== "function") {
      return Promise.reject(new TypeError("Pass a SendMessageRequest, DeleteMessageRequest or DisconnectUserRequest"));
    }
    if (this._state !== "connected" || !this._socket || this._socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new ChatError(0, "Not connected to the chat room", requestId));
    }
    if (this._pending.has(requestId)) {
      return Promise.reject(new ChatError(0, "This request is already waiting for an answer", requestId));
    }
    return new Promise((resolve, reject) => {
      this._pending.set(requestId, { answer, resolve, reject });
      try {
        this._socket.send(JSON.stringify(request.toFrame()));
      } catch (error) {
        this._pending.delete(requestId);
        reject(new ChatError(0, `Could not send: ${error.message}`, requestId));
      }
    });
  }

  _settle(requestId, answer, value) {
    const pending = requestId && this._pending.get(requestId);
    if (!pending || pending.answer !== answer) return;
    this._pending.delete(requestId);
    pending.resolve(value);
  }

  _rejectPending(message) {
    const pending = Array.from(this._pending.entries());
    this._pending.clear();
    for (const [requestId, { reject }] of pending) reject(new ChatError(0, message, requestId));
  }

  _onFrame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch (ignored) {
      return;
    }
    if (!isObject(frame)) return;
    switch (text(field(frame, "Type"))) {
      case "MESSAGE": {
        const message = chatMessage(frame);
        this._emit("message", message);
        this._settle(message.requestId, "MESSAGE", message);
        break;
      }
      case "EVENT": {
        const event = chatEvent(frame);
        if (event.eventName === "aws:DELETE_MESSAGE") {
          const deleted = deleteMessageEvent(event);
          this._emit("messageDelete", deleted);
          this._settle(event.requestId, event.eventName, deleted);
        } else if (event.eventName === "aws:DISCONNECT_USER") {
          const disconnected = disconnectUserEvent(event);
          this._emit("userDisconnect", disconnected);
          this._settle(event.requestId, event.eventName, disconnected);
        } else {
          this._emit("event", event);
        }
        break;
      }
      case "ERROR": {
        const requestId = optional(field(frame, "RequestId"));
        const pending = requestId && this._pending.get(requestId);
        if (pending) {
          this._pending.delete(requestId);
          pending.reject(new ChatError(Number(field(frame, "ErrorCode")) || 0, text(field(frame, "ErrorMessage")), requestId));
        }
        break;
      }
      default:
        break;
    }
  }
}
