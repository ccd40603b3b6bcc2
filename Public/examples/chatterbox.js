// Chatterbox: the IVS Chat JavaScript tutorial's app ("SDK Pesan Klien Obrolan IVS: JavaScript Tutorial", parts 1
// and 2), in plain DOM code on Parley's browser SDK instead of React. The tutorial's steps are marked "Step n".
//
// Step 1, the "local authentication/authorization server": Parley's console answers POST /console/chat-token with
// CreateChatToken's {token, tokenExpirationTime, sessionExpirationTime} for its signed-in moderators, so this page
// needs a browser signed in to the console. Step 2, the project: no npm, no build; the SDK is an ES module.
import { ChatRoom, DeleteMessageRequest, DisconnectUserRequest, SendMessageRequest } from "../sdk/parley-chat.js";

// Step 4, "Build a token provider": the tutorial's fetchChatToken, against the console's endpoint. The X-Parley-CSRF
// header (with the browser's Origin) is the endpoint's CSRF defence; the console session cookie authenticates.
export async function fetchChatToken(roomIdentifier, userId, capabilities = [], attributes, sessionDurationInMinutes) {
  const response = await fetch("/console/chat-token", {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-Parley-CSRF": "1" },
    body: JSON.stringify({ roomIdentifier, userId, capabilities, sessionDurationInMinutes, attributes }),
  });
  const token = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(token.error || `The token endpoint answered ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return {
    ...token,
    sessionExpirationTime: new Date(token.sessionExpirationTime),
    tokenExpirationTime: new Date(token.tokenExpirationTime),
  };
}

const $ = (id) => document.getElementById(id);

/** Small DOM helper; text is always set as text, never as markup. */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const app = {
  room: null,
  unsubscribe: [],
  userId: "",
  isModerator: false,
  isSending: false,
  connectionState: "disconnected",
  tokenError: null,
};

function showError(message) {
  $("error").textContent = message || "";
  $("error").hidden = !message;
}

// Step 6 (send button) and part 2's isSending: sending is possible only while connected and not already sending.
function render() {
  $("connection-state").textContent = `Connection State: ${app.connectionState}`;
  $("send-button").disabled = app.connectionState !== "connected" || app.isSending;
  $("join-button").disabled = app.room !== null;
  $("leave-button").disabled = app.room === null;
  for (const input of $("join").querySelectorAll("input")) input.disabled = app.room !== null;
}

// Part 2, "Create a message component" and "Recognize messages sent by the current user": mine on the right in light
// blue, others on the left in silver; moderators get Delete (and Disconnect user on other people's messages).
function messageElement(message) {
  const isMine = message.sender.userId === app.userId;
  const item = el("li", isMine ? "message mine" : "message");
  item.dataset.id = message.id;
  item.dataset.sender = message.sender.userId;
  item.append(el("p", "content", message.content));
  const meta = el("span", "meta");
  meta.append(el("strong", "sender", message.sender.userId));
  const time = el("time", "", message.sendTime ? message.sendTime.toLocaleTimeString() : "");
  if (message.sendTime) time.dateTime = message.sendTime.toISOString();
  meta.append(time);
  if (app.isModerator) {
    const remove = el("button", "small delete", "Delete");
    remove.type = "button";
    remove.addEventListener("click", () => onDeleteMessage(message.id, remove));
    meta.append(remove);
    if (!isMine) {
      const kick = el("button", "small disconnect", "Disconnect user");
      kick.type = "button";
      kick.addEventListener("click", () => onDisconnectUser(message.sender.userId, kick));
      meta.append(kick);
    }
  }
  item.append(meta);
  return item;
}

function systemLine(text) {
  $("messages").append(el("li", "system", text));
}

// Part 2, "Delete a message": the request, with the button disabled while it is pending (isDeleting).
async function onDeleteMessage(id, button) {
  button.disabled = true;
  try {
    await app.room.deleteMessage(new DeleteMessageRequest(id, "Deleted in Chatterbox"));
    showError("");
  } catch (error) {
    showError(`Could not delete: ${error.errorMessage || error.message}`);
  } finally {
    button.disabled = false;
  }
}

// "Next steps": disconnect another user (DISCONNECT_USER).
async function onDisconnectUser(userId, button) {
  button.disabled = true;
  try {
    await app.room.disconnectUser(new DisconnectUserRequest(userId, "Disconnected in Chatterbox"));
    showError("");
  } catch (error) {
    showError(`Could not disconnect ${userId}: ${error.errorMessage || error.message}`);
  } finally {
    button.disabled = false;
  }
}

// Part 2, "Send a message".
async function onMessageSend(event) {
  event.preventDefault();
  const input = $("message-input");
  if (!input.value || !app.room) return;
  const request = new SendMessageRequest(input.value);
  app.isSending = true;
  input.value = "";
  render();
  try {
    await app.room.sendMessage(request);
    showError("");
  } catch (error) {
    showError(`Not sent: ${error.errorMessage || error.message}`);
  } finally {
    app.isSending = false;
    render();
    input.focus();
  }
}

// Step 3, "Connect to a chat room", and step 5, "Observe connection updates".
function join(event) {
  event.preventDefault();
  const roomIdentifier = $("room").value.trim();
  app.userId = $("user").value.trim();
  app.isModerator = $("moderator").checked;
  const capabilities = app.isModerator ? ["SEND_MESSAGE", "DELETE_MESSAGE", "DISCONNECT_USER"] : ["SEND_MESSAGE"];
  app.tokenError = null;
  $("messages").textContent = "";
  $("signed-out").hidden = true;
  showError("");

  const room = new ChatRoom({
    regionOrUrl: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`,
    tokenProvider: () =>
      fetchChatToken(roomIdentifier, app.userId, capabilities).catch((error) => {
        app.tokenError = error;
        throw error;
      }),
  });
  app.room = room;
  app.unsubscribe = [
    room.addListener("connecting", () => {
      app.connectionState = "connecting";
      render();
    }),
    room.addListener("connect", () => {
      app.connectionState = "connected";
      app.tokenError = null;
      render();
    }),
    room.addListener("disconnect", (reason) => {
      app.connectionState = "disconnected";
      if (reason === "fetchTokenError" && app.tokenError) {
        if (app.tokenError.status === 401) $("signed-out").hidden = false;
        showError(`Could not get a chat token: ${app.tokenError.message}`);
      } else if (reason === "serverDisconnect") {
        showError("A moderator disconnected you from the room.");
      } else if (reason === "socketError") {
        showError("Lost the connection to the chat server.");
      }
      leave();
    }),
    // Part 2, "Subscribe to chat message events" and "Render the chat messages".
    room.addListener("message", (message) => {
      const list = $("messages");
      list.append(messageElement(message));
      list.lastElementChild.scrollIntoView({ block: "nearest" });
    }),
    // The best-practices page's message listener: drop deleted messages by messageId.
    room.addListener("messageDelete", (deleteEvent) => {
      const item = $("messages").querySelector(`li.message[data-id="${CSS.escape(deleteEvent.messageId)}"]`);
      if (item) item.remove();
    }),
    room.addListener("userDisconnect", (disconnectEvent) => {
      systemLine(`${disconnectEvent.userId} was disconnected${disconnectEvent.reason ? `: ${disconnectEvent.reason}` : ""}`);
    }),
    room.addListener("event", (chatEvent) => {
      systemLine(`Event ${chatEvent.eventName} ${JSON.stringify(chatEvent.attributes)}`);
    }),
  ];
  room.connect();
  render();
}

function leave() {
  const room = app.room;
  if (!room) return;
  app.room = null;
  for (const unsubscribe of app.unsubscribe) unsubscribe();
  app.unsubscribe = [];
  room.disconnect();
  app.connectionState = "disconnected";
  app.isSending = false;
  render();
}

function start() {
  $("no-script").hidden = true;
  const params = new URLSearchParams(location.search);
  if (params.get("room")) $("room").value = params.get("room");
  if (params.get("user")) $("user").value = params.get("user");
  const back = location.pathname + location.search;
  $("sign-in-link").href = `/console/sign-in?next=${encodeURIComponent(back)}`;
  $("join").addEventListener("submit", join);
  $("leave-button").addEventListener("click", leave);
  $("send").addEventListener("submit", onMessageSend);
  window.addEventListener("pagehide", leave);
  render();
}

start();
