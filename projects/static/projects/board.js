// The live lab board: /ws/labs/ frames and the clock refresh slot rows.
//
// A frame only says which slot changed; the row itself (with what this user
// may see: team names, "your slot", book buttons) comes from the server.
// Moments that change a row with no write behind them (the booking cut-off,
// a slot's start, booking opening or closing) are known from the page, and
// the board refreshes itself when they pass.
(function () {
  "use strict";

  const configElement = document.getElementById("board-config");
  if (!configElement) {
    return;
  }
  let config = JSON.parse(configElement.textContent);
  const live = document.getElementById("board-live");
  const connection = document.getElementById("board-connection");
  // Replaced wholesale when many rows may have changed at once.
  const REGIONS = ["board", "booking-state", "board-mine"];
  const GRACE_MS = 1000; // let the server's clock pass the moment too
  const MAX_WAIT_MS = 60000; // re-check at least every minute (sleep, drift)
  const BATCH_MS = 150; // frames arriving together are handled together
  const MANY_ROWS = 20; // beyond this, one page fetch beats many row fetches

  // Server time = client time + offset, so the moments match the server's.
  const offset = Date.parse(config.now) - Date.now();
  const serverNow = () => Date.now() + offset;
  // Moments between the server rendering the page and now count as passed.
  let lastCheck = Date.parse(config.now) - GRACE_MS;
  let timer = null;

  function announce(text) {
    if (!live || !text) {
      return;
    }
    live.textContent = "";
    // A fresh text node, so screen readers announce repeated messages too.
    window.setTimeout(() => { live.textContent = text; }, 50);
  }

  function setConnection(text) {
    if (connection) {
      connection.textContent = text;
    }
  }

  function rowUrl(id) {
    const next = encodeURIComponent(window.location.pathname + window.location.search);
    return config.rowUrl.replace("/0/", "/" + id + "/") + "?next=" + next;
  }

  function parseRow(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.querySelector("tr[data-lab-id]");
  }

  function describe(row) {
    const label = row.dataset.label;
    if (row.getAttribute("aria-current") === "true") {
      return label + " is now your team's slot.";
    }
    switch (row.dataset.state) {
      case "taken": return label + " was just taken.";
      case "closed": return label + " is closed.";
      case "free":
        return row.dataset.available === "true"
          ? label + " is free to book."
          : label + " can no longer be booked.";
      default: return "";
    }
  }

  async function refreshRow(id) {
    const current = document.getElementById("lab-" + id);
    if (!current) {
      return;
    }
    let response;
    try {
      response = await fetch(rowUrl(id), { credentials: "same-origin" });
    } catch (error) {
      return; // offline: the reconnect resyncs the whole board
    }
    if (response.redirected) {
      setConnection("Signed out: reload the page to sign in again.");
      return;
    }
    if (response.status === 404) {
      announce(current.dataset.label + " was removed.");
      current.remove();
      return;
    }
    if (!response.ok) {
      return;
    }
    const fresh = parseRow(await response.text());
    if (!fresh) {
      return;
    }
    const wasMine = current.getAttribute("aria-current") === "true";
    const isMine = fresh.getAttribute("aria-current") === "true";
    if (wasMine !== isMine) {
      // "Book" becomes "Move here" (or back) on every row.
      await refreshAll(describe(fresh));
      return;
    }
    if (fresh.dataset.state === "past") {
      current.remove();
      announce(current.dataset.label + " has started.");
      return;
    }
    const changed = fresh.dataset.state !== current.dataset.state
      || fresh.dataset.available !== current.dataset.available;
    current.replaceWith(fresh);
    if (changed) {
      announce(describe(fresh));
    }
  }

  async function refreshAll(message) {
    try {
      await replaceRegions(message);
    } finally {
      scheduleClock(); // the moments may have changed; keep the clock going
    }
  }

  async function replaceRegions(message) {
    let response;
    try {
      response = await fetch(window.location.href, { credentials: "same-origin" });
    } catch (error) {
      return;
    }
    if (!response.ok || response.redirected) {
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const freshConfig = page.getElementById("board-config");
    if (freshConfig) {
      config = JSON.parse(freshConfig.textContent); // the window may have changed
    }
    for (const id of REGIONS) {
      const mine = document.getElementById(id);
      const theirs = page.getElementById(id);
      if (mine && theirs) {
        mine.replaceWith(document.importNode(theirs, true));
      }
    }
    const state = document.getElementById("booking-state");
    announce(message || (state ? "The board was updated. " + state.textContent : ""));
  }

  // Clock ---------------------------------------------------------------

  function windowMoments() {
    if (!config.bookingSwitch) {
      return [];
    }
    return [config.opensAt, config.closesAt].filter(Boolean).map(Date.parse);
  }

  function rowMoments(row) {
    return [row.dataset.cutoff, row.dataset.start].filter(Boolean).map(Date.parse);
  }

  function rows() {
    return Array.from(document.querySelectorAll("tr[data-lab-id]"));
  }

  function passed(moment, since, now) {
    return moment > since && moment <= now;
  }

  function checkClock() {
    const now = serverNow() - GRACE_MS;
    const since = lastCheck;
    lastCheck = now;
    if (windowMoments().some((moment) => passed(moment, since, now))) {
      refreshAll();
      return;
    }
    for (const row of rows()) {
      if (rowMoments(row).some((moment) => passed(moment, since, now))) {
        refreshRow(row.dataset.labId);
      }
    }
    scheduleClock();
  }

  function scheduleClock() {
    const now = serverNow() - GRACE_MS;
    let next = Infinity;
    const moments = windowMoments();
    for (const row of rows()) {
      moments.push(...rowMoments(row));
    }
    for (const moment of moments) {
      if (moment > now && moment < next) {
        next = moment;
      }
    }
    const wait = Math.max(250, Math.min(next - now, MAX_WAIT_MS));
    window.clearTimeout(timer);
    timer = window.setTimeout(checkClock, wait);
  }

  const queued = new Set();
  let flushTimer = null;

  function queueRow(id) {
    if (!document.getElementById("lab-" + id)) {
      return; // not on this page (filtered out, or already past)
    }
    queued.add(id);
    if (flushTimer === null) {
      flushTimer = window.setTimeout(flushRows, BATCH_MS);
    }
  }

  function flushRows() {
    flushTimer = null;
    const ids = Array.from(queued);
    queued.clear();
    if (ids.length > MANY_ROWS) {
      refreshAll(); // e.g. the booking window changed: every slot was sent
      return;
    }
    ids.forEach(refreshRow);
  }

  // Socket --------------------------------------------------------------

  let attempts = 0;

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + config.socket);
    socket.addEventListener("open", () => {
      setConnection("Live: updates appear as they happen.");
      if (attempts > 0) {
        refreshAll("Reconnected: the board is up to date.");
      }
      attempts = 0;
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (frame && frame.type === "lab" && Number.isInteger(frame.id)) {
        queueRow(frame.id);
      }
    });
    socket.addEventListener("close", (event) => {
      if (event.code === 4401) {
        setConnection("You were signed out: reload the page to sign in again.");
        announce("You were signed out. The board no longer updates.");
        return;
      }
      attempts += 1;
      const delay = Math.min(30000, 1000 * 2 ** Math.min(attempts, 5));
      setConnection("Connection lost: reconnecting…");
      window.setTimeout(connect, delay);
    });
  }

  document.body.dataset.boardReady = "true";
  scheduleClock();
  connect();
})();
