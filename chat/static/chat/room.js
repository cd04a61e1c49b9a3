// Room page: one WebSocket per page, protocol in docs/protocol.md.
// User text only ever goes into the page through textContent.
(function () {
  "use strict";

  const page = JSON.parse(document.getElementById("chat-page").textContent);
  const log = document.getElementById("chat-log");
  const list = document.getElementById("chat-messages");
  const older = document.getElementById("chat-older");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const sendButton = document.getElementById("chat-send");
  const errorBox = document.getElementById("chat-error");
  const connection = document.getElementById("chat-connection");
  const notice = document.getElementById("chat-notice");
  const presenceList = document.getElementById("chat-presence");

  const HISTORY_PAGE = 50;
  // The server's limit, in code points as Python counts them. Not the
  // textarea's maxlength: that counts UTF-16 units (an emoji is two) and
  // silently cuts a paste short.
  const MESSAGE_MAX = 1000;
  const FRAME_MAX_BYTES = 16 * 1024; // the server's limit, before parsing
  const CLOSE_MESSAGES = {
    4401: "Your session ended (you signed out, changed your password, or the account was deactivated). Reload the page to rejoin (you may be asked to sign in).",
    4404: "This room is closed to you now: a coordinator closed it, its team was dissolved, or you are no longer in it.",
    4413: "Your connection fell behind and was reset. Reconnecting…",
  };
  const FINAL_CODES = new Set([4401, 4404]);
  // Days as the site prints them ("l j F Y": Tuesday 1 December 2026). A day
  // is the date part of sent_at, which the server writes in the unit's time
  // zone; formatting it as a UTC date keeps the browser's zone out of it.
  const DAY_FORMAT = new Intl.DateTimeFormat("en-AU", {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  });

  const byId = new Map(); // message id -> <li>
  let newestId = 0;
  let synced = false; // a first history has arrived
  let socket = null;
  let attempts = 0;
  let reconnectTimer = null;
  let stopped = false;
  let opened = false;
  // Texts sent and not yet answered, oldest first: {ref, text, after, big,
  // refused}. Each frame carries a ref of its own (docs/protocol.md) and
  // gets one answer to this socket naming it: `sent` (stored) or an error
  // (refused). Answers are matched by ref, never by text: the same user's
  // identical text from another tab is another message. A frame over 16 KiB
  // is refused unread, so its error has no ref: it answers the oldest such
  // frame (`big`). Refused texts wait until nothing sent is still pending,
  // then all come back in the order sent.
  let unanswered = [];
  let lastRef = 0;
  let dropped = []; // unanswered when the last socket closed
  let errorTimer = null;
  let loadingOlder = false;
  let hasOlder = true;

  function setState(state, text) {
    connection.dataset.state = state;
    connection.textContent = text;
    connection.className = "badge " + {
      connected: "text-bg-success",
      connecting: "text-bg-secondary",
      reconnecting: "text-bg-warning",
      closed: "text-bg-danger",
    }[state];
    sendButton.disabled = state !== "connected";
  }

  function showNotice(text) {
    notice.textContent = text;
    notice.classList.remove("d-none");
  }

  function hideNotice() {
    notice.classList.add("d-none");
    notice.textContent = "";
  }

  function atBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  }

  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
  }

  function messageElement(message) {
    const item = document.createElement("li");
    item.className = "chat-message";
    item.dataset.id = String(message.id);
    const time = document.createElement("time");
    time.className = "chat-time";
    time.dateTime = message.sent_at;
    const day = message.sent_at.slice(0, 10);
    time.title = dayName(day) + ", " + message.sent_at.slice(11, 16);
    time.textContent = message.sent_at.slice(11, 16);
    const author = document.createElement("span");
    author.className = "chat-author";
    author.textContent = message.author;
    const text = document.createElement("span");
    text.className = "chat-text";
    text.textContent = message.text;
    item.append(time, author);
    if (message.staff) {
      item.append(staffBadge());
    }
    item.append(text);
    return item;
  }

  // "2026-12-01" -> "Tuesday 1 December 2026", whatever the browser's zone.
  function dayName(day) {
    const [year, month, date] = day.split("-").map(Number);
    const parts = {};
    const utc = new Date(Date.UTC(year, month - 1, date));
    for (const part of DAY_FORMAT.formatToParts(utc)) {
      parts[part.type] = part.value;
    }
    return [parts.weekday, parts.day, parts.month, parts.year].join(" ");
  }

  function dayOf(item) {
    return item.querySelector(".chat-time").dateTime.slice(0, 10);
  }

  function dayDivider(day) {
    const item = document.createElement("li");
    item.className = "chat-day d-flex align-items-center gap-2 my-2 small text-body-secondary";
    item.dataset.day = day;
    const time = document.createElement("time");
    time.dateTime = day;
    time.textContent = dayName(day);
    item.append(time);
    return item;
  }

  function isDivider(element) {
    return element !== null && element.classList.contains("chat-day");
  }

  // Give the first message of each day a divider, and nothing else one.
  // Run after every change to the messages. A divider already in place is
  // kept, never rebuilt: the log (aria-live) announces each day once, when
  // it first appears.
  function placeDividers() {
    let previousDay = null;
    let spare = []; // dividers since the previous message
    const unused = [];
    for (const child of Array.from(list.children)) {
      if (isDivider(child)) {
        spare.push(child);
        continue;
      }
      if (!child.classList.contains("chat-message")) {
        continue; // a status line: it has no day
      }
      const day = dayOf(child);
      if (day !== previousDay) {
        const kept = spare.find((divider) => divider.dataset.day === day);
        if (kept) {
          spare = spare.filter((divider) => divider !== kept);
        } else {
          list.insertBefore(dayDivider(day), child);
        }
      }
      unused.push(...spare);
      spare = [];
      previousDay = day;
    }
    unused.push(...spare);
    unused.forEach((divider) => divider.remove());
  }

  // The server's staff flag, never the name, makes a coordinator: the badge
  // is an element of its own, which no name typed as text can produce.
  function staffBadge() {
    const badge = document.createElement("span");
    badge.className = "badge text-bg-primary chat-staff";
    badge.textContent = "Coordinator";
    return badge;
  }

  // Insert in id order, whatever order frames arrive in; ignore duplicates.
  function addMessage(message) {
    if (byId.has(message.id)) {
      return false;
    }
    const item = messageElement(message);
    let next = null;
    if (message.id < newestId) {
      for (const [id, element] of byId) {
        if (id > message.id && (next === null || id < Number(next.dataset.id))) {
          next = element;
        }
      }
    }
    newestId = Math.max(newestId, message.id);
    if (next === null) {
      list.append(item);
    } else {
      // Go after the next message's divider if it is of this day (it then
      // heads this message), before it if not (it stays with its own).
      const before = next.previousElementSibling;
      if (isDivider(before) && before.dataset.day !== dayOf(item)) {
        next = before;
      }
      list.insertBefore(item, next);
    }
    byId.set(message.id, item);
    return true;
  }

  function addStatus(text) {
    const item = document.createElement("li");
    item.className = "chat-status";
    item.textContent = text;
    list.append(item);
  }

  function removeMessage(id) {
    const item = byId.get(id);
    if (item) {
      item.remove();
      byId.delete(id);
    }
  }

  function applyHistory(messages) {
    // A resync: anything since the oldest id received that is missing now
    // was deleted while this page was away.
    const ids = new Set(messages.map((m) => m.id));
    const oldest = messages.length ? messages[0].id : -Infinity;
    for (const id of Array.from(byId.keys())) {
      if (id >= oldest && !ids.has(id)) {
        removeMessage(id);
      }
    }
    messages.forEach(addMessage);
    placeDividers();
    if (byId.size < HISTORY_PAGE && messages.length < HISTORY_PAGE) {
      hasOlder = false;
    }
  }

  function showPresence(users) {
    presenceList.replaceChildren(
      ...users.map((user) => {
        const item = document.createElement("li");
        const name = document.createElement("span");
        name.className = "chat-presence-name";
        name.textContent = user.name;
        item.append(name);
        if (user.staff) {
          item.append(" ", staffBadge());
        }
        return item;
      })
    );
  }

  // Show an error; one with a wait goes when the wait is over.
  function setError(text, seconds) {
    window.clearTimeout(errorTimer);
    errorTimer = seconds ? window.setTimeout(() => setError(""), seconds * 1000) : null;
    errorBox.textContent = text;
  }

  // Put texts that were not stored back into the box, in the order sent,
  // before anything typed since: none is lost.
  function restore(texts) {
    if (texts.length) {
      input.value = texts.concat(input.value ? [input.value] : []).join("\n");
    }
  }

  function texts(entries) {
    return entries.map((entry) => entry.text);
  }

  function refusedAny() {
    return unanswered.some((entry) => entry.refused);
  }

  // Once only refused texts are left unanswered, they all come back.
  function settle() {
    if (unanswered.length && unanswered.every((entry) => entry.refused)) {
      restore(texts(unanswered));
      unanswered = [];
    }
  }

  function pending(ref) {
    return unanswered.find((entry) =>
      !entry.refused && (typeof ref === "string" ? entry.ref === ref : entry.big)
    );
  }

  // The server stored the text sent with this ref.
  function stored(ref) {
    const entry = pending(ref);
    if (typeof ref !== "string" || !entry) {
      return;
    }
    unanswered.splice(unanswered.indexOf(entry), 1);
    if (!refusedAny()) {
      setError(""); // sent; a refusal still to come back keeps its error
    }
    settle();
  }

  function showError(frame) {
    let text = frame.detail || "That message was not sent.";
    if (frame.code === "rate_limited" && frame.retry_after) {
      text = "Rate limited: try again in " + frame.retry_after + " s.";
    }
    setError(text, frame.retry_after);
    const entry = pending(frame.ref);
    if (entry) {
      entry.refused = true;
      settle();
    }
  }

  function onFrame(event) {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    const stick = atBottom();
    switch (frame.type) {
      case "history":
        applyHistory(frame.messages);
        // What the last socket left unanswered and is not stored now was
        // lost with it: it comes back too. Its answer was lost, so only the
        // text can tell: an own message with the same text, newer than
        // anything the page had when it was sent, counts as it (a refused
        // one was not stored, whatever the history holds).
        for (const message of frame.messages) {
          if (message.author_id === page.user_id) {
            const index = dropped.findIndex((entry) =>
              !entry.refused && entry.text === message.text && message.id > entry.after
            );
            if (index >= 0) {
              dropped.splice(index, 1);
            }
          }
        }
        restore(texts(dropped));
        dropped = [];
        if (!synced || stick) {
          scrollToBottom(); // a resync leaves a reader who scrolled up in place
        }
        synced = true;
        return;
      case "message":
        if (addMessage(frame)) {
          placeDividers();
        }
        if (frame.author_id === page.user_id) {
          scrollToBottom(); // answered by its `sent`, matched by ref
          return;
        }
        break;
      case "sent":
        stored(frame.ref);
        return;
      case "status":
        addStatus(frame.text);
        break;
      case "presence":
        showPresence(frame.users);
        return;
      case "deleted":
        removeMessage(frame.id);
        placeDividers();
        return;
      case "error":
        showError(frame);
        return;
      default:
        return;
    }
    if (stick) {
      scrollToBottom();
    }
  }

  // After a refused handshake, ask the server (same rules as the socket) so
  // a lost session or a gone room ends the retries.
  async function accessLost() {
    try {
      const response = await fetch(page.history_url + "?before=1", {
        credentials: "same-origin",
        redirect: "manual",
      });
      if (response.type === "opaqueredirect" || response.status === 302) {
        return 4401;
      }
      if (response.status === 404) {
        return 4404;
      }
    } catch (error) {
      // the server is away: keep retrying
    }
    return null;
  }

  function scheduleReconnect() {
    attempts += 1;
    const delay = Math.min(30000, 1000 * 2 ** (attempts - 1)) * (0.75 + Math.random() / 2);
    setState("reconnecting", "Reconnecting in " + Math.round(delay / 1000) + " s…");
    reconnectTimer = window.setTimeout(connect, delay);
  }

  async function onClose(event) {
    socket = null;
    dropped = dropped.concat(unanswered);
    unanswered = [];
    if (stopped) {
      return;
    }
    let code = event.code;
    if (!opened && attempts > 0) {
      code = (await accessLost()) || code;
    }
    opened = false;
    if (FINAL_CODES.has(code)) {
      stopped = true;
      setState("closed", "Disconnected");
      showNotice(CLOSE_MESSAGES[code]);
      restore(texts(dropped)); // shown, to copy: it may not have been stored
      // Read-only, not disabled: what is in it can still be selected and copied.
      input.readOnly = true;
      return;
    }
    if (CLOSE_MESSAGES[code]) {
      showNotice(CLOSE_MESSAGES[code]);
    }
    scheduleReconnect();
  }

  function connect() {
    reconnectTimer = null;
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    setState(attempts ? "reconnecting" : "connecting", "Connecting…");
    socket = new WebSocket(scheme + window.location.host + page.socket_path);
    socket.addEventListener("open", () => {
      opened = true;
      attempts = 0;
      hideNotice();
      setError("");
      setState("connected", "Connected");
    });
    socket.addEventListener("message", onFrame);
    socket.addEventListener("close", onClose);
  }

  function send() {
    const text = input.value.trim();
    if (!text) {
      return;
    }
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      if (!stopped) {
        // Cleared when the socket opens.
        setError(
          "Not connected: your message stays here; press Enter again once the page says Connected."
        );
      }
      return;
    }
    const length = Array.from(text).length;
    if (length > MESSAGE_MAX) {
      setError(
        "Keep messages to " + MESSAGE_MAX + " characters or fewer: this one has " + length + "."
      );
      return; // the text stays in the box, to shorten
    }
    lastRef += 1;
    const ref = String(lastRef);
    const frame = JSON.stringify({ type: "message", ref: ref, text: text });
    socket.send(frame);
    unanswered.push({
      ref: ref,
      text: text,
      after: newestId,
      big: new TextEncoder().encode(frame).length > FRAME_MAX_BYTES,
      refused: false,
    });
    input.value = "";
    setError("");
  }

  async function loadOlder() {
    if (loadingOlder || !hasOlder || byId.size === 0) {
      return;
    }
    loadingOlder = true;
    older.classList.remove("d-none");
    const oldest = Math.min(...byId.keys());
    try {
      const response = await fetch(page.history_url + "?before=" + oldest, {
        credentials: "same-origin",
      });
      if (response.ok) {
        const data = await response.json();
        const before = log.scrollHeight;
        data.messages.forEach(addMessage);
        placeDividers();
        log.scrollTop += log.scrollHeight - before; // keep the reader's place
        if (data.messages.length < HISTORY_PAGE) {
          hasOlder = false;
        }
      }
    } finally {
      loadingOlder = false;
      older.classList.add("d-none");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  log.addEventListener("scroll", () => {
    if (log.scrollTop < 20) {
      loadOlder();
    }
  });
  window.addEventListener("pagehide", () => {
    stopped = true;
    if (reconnectTimer) {
      window.clearTimeout(reconnectTimer);
    }
    if (socket) {
      socket.close(1000);
    }
  });

  connect();
})();
