// The live lab board: rows rendered from /ws/labs/ frames, and the clock.
//
// Each frame says how one slot looks to this user (state, whether they may
// book it, whether it is their team's, the team's name where they may see
// it), so a frame changes its row with no request. Rows are filled into the
// page's <template id="lab-row-template">, which the server renders with
// the same function as every row (projects/rows.py). Moments that change a
// row with no write behind them (the booking cut-off, a slot's start,
// booking opening or closing) are worked out here from the times the page
// has. A reconnect after a gap resyncs with one request (/labs/frames/).
// Book, Move here and Release post in the background; the outcome shows in
// the row's own status region, and the row changes from the live frame. The
// outcome stays while the row is in the state it speaks of, and goes when a
// frame (or a resync) puts the row in another.
(function () {
  "use strict";

  const configElement = document.getElementById("board-config");
  if (!configElement) {
    return;
  }
  const config = JSON.parse(configElement.textContent);
  let win = config.window;
  const viewer = config.viewer;
  const board = document.getElementById("board");
  const heading = document.getElementById("board-heading");
  const live = document.getElementById("board-live");
  const connection = document.getElementById("board-connection");
  const rowTemplate = document.getElementById("lab-row-template");
  const dayTemplate = document.getElementById("lab-day-template");
  const MAX_WAIT_MS = 60000; // re-check at least every minute (sleep, drift)
  const MANY = 3; // more changes than this at once are announced as one
  const FIRST_RETRY_MS = 2000; // a failed resync after a reconnect: retry in
  const LIVE = "Live: updates appear as they happen.";
  const cutoffMs = config.cutoffMinutes * 60000;
  const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday",
    "Friday", "Saturday"];
  const MONTHS = ["January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December"];

  // Server time = client time + offset, so the moments match the server's.
  const offset = Date.parse(config.now) - Date.now();
  const serverNow = () => Date.now() + offset;
  let timer = null;
  let socket = null;

  // Words, as the server writes them -------------------------------------

  function parts(iso) {
    return {
      year: Number(iso.slice(0, 4)),
      month: Number(iso.slice(5, 7)),
      day: Number(iso.slice(8, 10)),
      time: iso.slice(11, 16),
    };
  }

  function weekday(p) {
    return DAYS[new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay()];
  }

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  function hoursText(slot) {
    return parts(slot.start).time + "\u2013" + parts(slot.end).time;
  }

  function labelText(slot) {
    const p = parts(slot.start);
    return weekday(p).slice(0, 3) + " " + pad(p.day) + " "
      + MONTHS[p.month - 1].slice(0, 3) + " " + p.year + ", " + p.time + "-"
      + parts(slot.end).time + " \u00b7 " + slot.room;
  }

  function dayHeading(day) {
    const p = parts(day);
    return weekday(p) + " " + p.day + " " + MONTHS[p.month - 1] + " " + p.year;
  }

  function bookingOpen(now) {
    if (!win.bookingSwitch) {
      return false;
    }
    if (win.opensAt && now < Date.parse(win.opensAt)) {
      return false;
    }
    return !(win.closesAt && now >= Date.parse(win.closesAt));
  }

  function statusText(slot, open) {
    if (slot.state === "past") { return "Started"; }
    if (slot.state === "taken") { return slot.mine ? "Your slot" : "Taken"; }
    if (slot.state === "closed") { return "Closed"; }
    if (slot.available) { return "Free"; }
    return open ? "Free (too late to book)" : "Free (booking is closed)";
  }

  function bookingStateText(now) {
    if (bookingOpen(now)) {
      return win.closesAt ? "Booking is open until " + win.closesText + "." : "Booking is open.";
    }
    if (win.bookingSwitch && win.opensAt && now < Date.parse(win.opensAt)) {
      return "Booking opens " + win.opensText + ".";
    }
    return "Booking is closed.";
  }

  // Rows -------------------------------------------------------------------

  function field(row, name) {
    return row.querySelector('[data-field="' + name + '"]');
  }

  function modelFromRow(row) {
    return {
      id: Number(row.dataset.labId),
      room: row.dataset.room,
      start: row.dataset.start,
      end: row.dataset.end,
      state: row.dataset.state,
      available: row.dataset.available === "true",
      mine: row.dataset.mine === "true",
      team: field(row, "team").textContent || null,
      description: field(row, "description").textContent || null,
    };
  }

  function modelFromFrame(frame) {
    return {
      id: frame.id,
      room: frame.room,
      start: frame.start,
      end: frame.end,
      state: frame.state,
      available: frame.available,
      mine: frame.mine,
      team: frame.team,
      description: frame.description,
    };
  }

  // Add a control from the template where the user may use it now, and
  // take it away where not, so the row matches what the server renders.
  function control(row, name, wanted) {
    const present = field(row, name);
    if (!wanted) {
      if (present) {
        present.remove();
      }
      return null;
    }
    if (present) {
      return present;
    }
    const copy = field(rowTemplate.content, name).cloneNode(true);
    const before = name === "book" ? field(row, "release") || field(row, "outcome")
      : field(row, "outcome");
    before.parentNode.insertBefore(copy, before);
    return copy;
  }

  // Fill a row (a fresh template clone or a row on the page) for this slot.
  function fill(row, slot, now) {
    const focusHere = row.contains(document.activeElement);
    const open = bookingOpen(now);
    const label = labelText(slot);
    const startMs = Date.parse(slot.start);
    row.id = "lab-" + slot.id;
    row.className = slot.mine ? "lab-row table-success" : "lab-row";
    row.dataset.labId = String(slot.id);
    row.dataset.room = slot.room;
    row.dataset.start = slot.start;
    row.dataset.end = slot.end;
    row.dataset.state = slot.state;
    row.dataset.available = String(slot.available);
    row.dataset.mine = String(slot.mine);
    if (slot.mine) {
      row.setAttribute("aria-current", "true");
    } else {
      row.removeAttribute("aria-current");
    }
    field(row, "hours").textContent = hoursText(slot);
    field(row, "room").textContent = slot.room;
    field(row, "status").textContent = statusText(slot, open);
    field(row, "team").textContent = slot.team || "";
    field(row, "description").textContent = slot.description || "";
    const book = control(row, "book", viewer.project && slot.available && !slot.mine);
    if (book) {
      book.setAttribute("action", config.bookUrl + slot.id + "/book/");
      book.elements.next.value = window.location.pathname + window.location.search;
      field(book, "action").textContent = viewer.lab ? "Move here" : "Book";
    }
    control(row, "release", slot.mine && open && now < startMs - cutoffMs);
    for (const span of row.querySelectorAll('[data-field="label"]')) {
      span.textContent = " " + label;
    }
    if (focusHere && !row.contains(document.activeElement)) {
      keepFocus(row);
    }
    return row;
  }

  // The control a keyboard user was on went with the change (Book becomes
  // Release once booked): focus the row's control now, or its outcome line,
  // rather than leave focus on the page's start.
  function keepFocus(row) {
    const book = field(row, "book");
    const target = (book && book.querySelector("button")) || field(row, "release")
      || field(row, "outcome");
    target.focus();
  }

  // A row's state as far as its outcome line is concerned: "taken mine", ...
  function rowState(state, mine) {
    return mine ? state + " mine" : state;
  }

  // The state a refusal says the slot is in, whether or not its frame has
  // arrived yet; other refusals speak of the row as it is.
  const REFUSED_STATES = {
    slot_taken: rowState("taken", false),
    slot_closed: rowState("closed", false),
    same_slot: rowState("taken", true),
  };

  // Clear an outcome line written for another state than the row's now:
  // the change was announced in the live region, and the line is stale.
  function clearStaleOutcome(row) {
    const outcome = field(row, "outcome");
    const written = outcome.dataset.forState;
    if (written && written !== rowState(row.dataset.state, row.dataset.mine === "true")) {
      outcome.textContent = "";
      outcome.classList.remove("text-danger");
      delete outcome.dataset.forState;
    }
  }

  function renderRow(slot) {
    const row = rowTemplate.content.firstElementChild.cloneNode(true);
    return fill(row, slot, serverNow());
  }

  // Rows this user's own action is changing, and the state it leaves each
  // in: that change is told in the row's outcome line, so its frame is not
  // announced again in the live region.
  const ownChanges = new Map();

  const slots = new Map();
  for (const row of board.querySelectorAll("tr[data-lab-id]")) {
    slots.set(Number(row.dataset.labId), modelFromRow(row));
  }

  function shownHere(slot) {
    return (!config.filter.day || slot.start.slice(0, 10) === config.filter.day)
      && (!config.filter.room || slot.room === config.filter.room);
  }

  function laterThan(row, slot) {
    const start = row.dataset.start;
    const ms = Date.parse(start);
    const mine = Date.parse(slot.start);
    return ms > mine || (ms === mine && row.dataset.room > slot.room);
  }

  function insertRow(slot) {
    const day = slot.start.slice(0, 10);
    let section = board.querySelector('section[data-day="' + day + '"]');
    if (!section) {
      section = dayTemplate.content.firstElementChild.cloneNode(true);
      section.dataset.day = day;
      field(section, "day").textContent = dayHeading(day);
      const after = Array.from(board.querySelectorAll("section[data-day]"))
        .find((other) => other.dataset.day > day);
      board.insertBefore(section, after || board.querySelector("[data-testid=no-slots]"));
    }
    const body = section.querySelector("tbody");
    const next = Array.from(body.rows).find((row) => laterThan(row, slot));
    return body.insertBefore(renderRow(slot), next || null);
  }

  // Take a row off the board. A keyboard user on it would be left at the
  // page's start: focus goes to the next row (the previous one where it was
  // the last), or to the board's heading once no row is left.
  function removeRow(row) {
    const focusHere = row.contains(document.activeElement);
    const rows = Array.from(board.querySelectorAll("tr[data-lab-id]"));
    const at = rows.indexOf(row);
    const neighbour = rows[at + 1] || rows[at - 1];
    const section = row.closest("section[data-day]");
    row.remove();
    if (section && !section.querySelector("tr[data-lab-id]")) {
      section.remove();
    }
    if (focusHere) {
      if (neighbour) {
        keepFocus(neighbour);
      } else if (heading) {
        heading.focus();
      }
    }
  }

  function updateEmpty() {
    const empty = board.querySelector("[data-testid=no-slots]");
    if (empty) {
      empty.hidden = board.querySelector("tr[data-lab-id]") !== null;
    }
  }

  // Announcements and the parts around the rows -----------------------------

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

  function describe(slot) {
    const label = labelText(slot);
    if (slot.mine) { return label + " is now your team's slot."; }
    switch (slot.state) {
      case "taken": return label + " was just taken.";
      case "closed": return label + " is closed.";
      case "free":
        return slot.available ? label + " is free to book." : label + " can no longer be booked.";
      default: return "";
    }
  }

  function renderState(now) {
    const badge = document.getElementById("booking-state");
    if (!badge) {
      return;
    }
    badge.textContent = bookingStateText(now);
    badge.classList.toggle("text-bg-success", bookingOpen(now));
    badge.classList.toggle("text-bg-secondary", !bookingOpen(now));
  }

  function renderMine() {
    const box = document.getElementById("board-mine");
    if (!box) {
      return;
    }
    const p = document.createElement("p");
    if (viewer.project) {
      if (viewer.lab) {
        const strong = document.createElement("strong");
        strong.textContent = viewer.label;
        p.append("Your team presents at ", strong, ". \u201cMove here\u201d moves it.");
      } else {
        p.append("Your team has no slot yet: pick one.");
      }
    } else if (!viewer.coordinator) {
      const link = document.createElement("a");
      link.href = config.newProjectUrl;
      link.textContent = "Create a project";
      p.append(link, " to book a slot.");
    } else {
      box.replaceChildren();
      return;
    }
    box.replaceChildren(p);
  }

  function refillAll(now) {
    for (const slot of slots.values()) {
      const row = document.getElementById("lab-" + slot.id);
      if (row) {
        fill(row, slot, now);
      }
    }
  }

  // Frames ---------------------------------------------------------------

  function forgetMine(id) {
    if (viewer.lab === id) {
      viewer.lab = null;
      viewer.label = "";
      return true;
    }
    return false;
  }

  // Apply one `lab` frame; return what to announce ("" for nothing).
  function apply(frame, now) {
    let mineChanged = false;
    if (frame.mine && viewer.lab !== frame.id) {
      viewer.lab = frame.id;
      viewer.label = labelText(frame);
      mineChanged = true;
    } else if (!frame.mine) {
      mineChanged = forgetMine(frame.id);
    }
    const row = document.getElementById("lab-" + frame.id);
    const before = slots.get(frame.id);
    if (frame.state === "removed" || frame.state === "past") {
      slots.delete(frame.id);
      if (row) {
        removeRow(row);
        const label = labelText(before || modelFromRow(row));
        return { text: label + (frame.state === "past" ? " has started." : " was removed."), mineChanged };
      }
      return { text: "", mineChanged };
    }
    const slot = modelFromFrame(frame);
    if (slot.state === "free" && !(bookingOpen(now) && now < Date.parse(slot.start) - cutoffMs)) {
      slot.available = false; // the moment passed while the frame travelled
    }
    if (!shownHere(slot)) {
      slots.delete(frame.id);
      if (row) {
        removeRow(row);
        const label = labelText(before || modelFromRow(row));
        return { text: label + " was moved and is no longer shown here.", mineChanged };
      }
      return { text: "", mineChanged };
    }
    slots.set(frame.id, slot);
    if (!row) {
      insertRow(slot);
    } else if (before && (before.start !== slot.start || before.room !== slot.room)) {
      const focusHere = row.contains(document.activeElement);
      removeRow(row);
      const moved = insertRow(slot);
      if (focusHere) {
        keepFocus(moved); // the slot is still shown: focus goes with it
      }
    } else {
      fill(row, slot, now);
      clearStaleOutcome(row);
    }
    const changed = !before || before.state !== slot.state
      || before.available !== slot.available || before.mine !== slot.mine;
    const own = ownChanges.get(frame.id) === rowState(slot.state, slot.mine);
    if (own) {
      ownChanges.delete(frame.id);
    }
    return { text: changed && !own ? describe(slot) : "", mineChanged };
  }

  function applyFrames(frames) {
    const now = serverNow();
    const texts = [];
    let mineChanged = false;
    for (const frame of frames) {
      if (!frame || !Number.isInteger(frame.id)) {
        continue;
      }
      const result = apply(frame, now);
      mineChanged = mineChanged || result.mineChanged;
      if (result.text) {
        texts.push(result.text);
      }
    }
    if (mineChanged) {
      refillAll(now); // "Book" becomes "Move here" (or back) on every row
      renderMine();
    }
    updateEmpty();
    announce(texts.length > MANY ? "The board was updated." : texts.join(" "));
    scheduleClock();
  }

  function applyWindow(frame) {
    win = {
      bookingSwitch: frame.bookingSwitch,
      opensAt: frame.opensAt,
      closesAt: frame.closesAt,
      opensText: frame.opensText,
      closesText: frame.closesText,
      published: frame.published,
    };
    const now = serverNow();
    renderState(now);
    refillAll(now);
    scheduleClock();
  }

  function applyViewer(project) {
    viewer.project = project;
    if (!project) {
      viewer.lab = null;
      viewer.label = "";
    }
    refillAll(serverNow());
    renderMine();
  }

  // One request brings every shown row up to date (after a gap), then
  // announces `message` if given: after an action, none, so the action's
  // own outcome is what a screen reader hears. Says whether it did: "done",
  // "failed" (offline, or the server not answering well: try again) or
  // "signed out" (said so; no point trying again).
  async function resync(message) {
    let response;
    let data;
    try {
      response = await fetch(config.framesUrl + window.location.search, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.redirected) {
        setConnection("Signed out: reload the page to sign in again.");
        return "signed out";
      }
      if (!response.ok) {
        return "failed";
      }
      data = await response.json();
    } catch (error) {
      return "failed";
    }
    applyWindow(Object.assign({ type: "window" }, data.window));
    viewer.project = data.viewer.project;
    viewer.lab = data.viewer.lab;
    viewer.label = data.viewer.label;
    const seen = new Set(data.labs.map((frame) => frame.id));
    for (const id of Array.from(slots.keys())) {
      if (!seen.has(id)) {
        slots.delete(id);
        const row = document.getElementById("lab-" + id);
        if (row) {
          removeRow(row);
        }
      }
    }
    const now = serverNow();
    for (const frame of data.labs) {
      apply(frame, now);
    }
    refillAll(now);
    renderMine();
    updateEmpty();
    announce(message);
    scheduleClock();
    return "done";
  }

  // After a reconnect: resync, and until that works say the board may be
  // out of date (not "Live") and try again, for as long as the socket is up.
  let catchUpTimer = null;

  async function catchUp(wait) {
    window.clearTimeout(catchUpTimer);
    const result = await resync("Reconnected: the board is up to date.");
    if (!socket || socket.readyState !== WebSocket.OPEN || result === "signed out") {
      return; // the next reconnect catches up, or there is nothing to do
    }
    if (result === "done") {
      setConnection(LIVE);
      return;
    }
    if (wait === FIRST_RETRY_MS) {
      announce("The board could not be brought up to date. Trying again.");
    }
    setConnection("Connected, but the board could not be brought up to date: trying again\u2026");
    catchUpTimer = window.setTimeout(() => catchUp(Math.min(wait * 2, 30000)), wait);
  }

  // Clock ---------------------------------------------------------------

  function moments() {
    const list = [];
    if (win.bookingSwitch) {
      for (const moment of [win.opensAt, win.closesAt]) {
        if (moment) {
          list.push(Date.parse(moment));
        }
      }
    }
    for (const slot of slots.values()) {
      const start = Date.parse(slot.start);
      list.push(start - cutoffMs, start);
    }
    return list;
  }

  function tick() {
    const now = serverNow();
    const open = bookingOpen(now);
    const texts = [];
    for (const slot of Array.from(slots.values())) {
      const start = Date.parse(slot.start);
      const row = document.getElementById("lab-" + slot.id);
      if (now >= start) {
        slots.delete(slot.id);
        forgetMine(slot.id);
        if (row) {
          removeRow(row);
          texts.push(labelText(slot) + " has started.");
        }
        continue;
      }
      const available = slot.state === "free" && open && now < start - cutoffMs;
      if (available !== slot.available) {
        slot.available = available;
        texts.push(describe(slot));
      }
    }
    renderState(now);
    refillAll(now);
    renderMine();
    updateEmpty();
    announce(texts.length > MANY ? "The board was updated. " + bookingStateText(now) : texts.join(" "));
    scheduleClock();
  }

  function scheduleClock() {
    const now = serverNow();
    let next = Infinity;
    for (const moment of moments()) {
      if (moment > now && moment < next) {
        next = moment;
      }
    }
    const wait = Math.max(50, Math.min(next - now + 20, MAX_WAIT_MS));
    window.clearTimeout(timer);
    timer = window.setTimeout(tick, wait);
  }

  // Booking in the background ------------------------------------------------

  function failure(response) {
    if (response.redirected) {
      return "You were signed out: reload the page to sign in again.";
    }
    if (response.status === 403) {
      return "Your session expired: reload the page and try again.";
    }
    if (response.status === 404) {
      return "That slot no longer exists.";
    }
    return "Something went wrong on our side. Please try again.";
  }

  // The answer as {ok, message, code, uncertain}; always one, so the row
  // never stays at "Booking…" with its button inert. `uncertain`: the
  // request may have been done though no answer came (the connection
  // failed, or a proxy gave up waiting for the server).
  async function post(url, token, data) {
    const cut = {
      ok: false,
      uncertain: true,
      message: "the connection failed before the answer came. This row shows whether it went through.",
    };
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": token },
      });
    } catch (error) {
      return cut;
    }
    const type = response.headers.get("Content-Type") || "";
    if (response.status === 502 || response.status === 504) {
      return cut; // a proxy's answer: the server may have done it
    }
    if (response.redirected || !type.startsWith("application/json")) {
      return { ok: false, message: failure(response) };
    }
    let body;
    try {
      body = await response.json(); // the connection may drop mid-answer
    } catch (error) {
      return cut;
    }
    if (!body || typeof body.message !== "string") {
      return { ok: false, message: failure(response) };
    }
    return body;
  }

  // `after` is the row's state once the action is done ("taken mine" for a
  // booking): its answer and its frame arrive in either order, and the
  // frame must not clear the answer.
  // `changes` maps the slots the action changes to the state it leaves each
  // in (for a move, the slot left too).
  async function act(row, control, url, data, doing, refused, after, changes) {
    const outcome = field(row, "outcome");
    const token = config.csrfToken;
    control.setAttribute("aria-disabled", "true");
    delete outcome.dataset.forState;
    outcome.textContent = doing;
    for (const [id, state] of changes) {
      ownChanges.set(id, state);
    }
    const result = await post(url, token, data);
    if (!result.ok) {
      for (const [id, state] of changes) {
        if (ownChanges.get(id) === state) {
          ownChanges.delete(id); // not done: a frame for it is someone else's
        }
      }
    }
    control.removeAttribute("aria-disabled");
    outcome.classList.toggle("text-danger", !result.ok);
    const prefix = result.uncertain ? "Not confirmed: " : refused;
    outcome.textContent = result.ok ? result.message : prefix + result.message;
    outcome.dataset.forState = result.ok ? after
      : REFUSED_STATES[result.code] || rowState(row.dataset.state, row.dataset.mine === "true");
    if (result.uncertain || !socket || socket.readyState !== WebSocket.OPEN) {
      // No live frames, or no telling whether it was done: bring the board
      // up to date once (the row then shows where the team stands), quietly.
      resync();
    }
  }

  board.addEventListener("submit", (event) => {
    const form = event.target.closest('form[data-field="book"]');
    if (!form) {
      return;
    }
    event.preventDefault();
    const row = form.closest("tr");
    const button = form.querySelector("button");
    if (button.getAttribute("aria-disabled") === "true") {
      return;
    }
    const id = Number(row.dataset.labId);
    const changes = new Map([[id, rowState("taken", true)]]);
    if (viewer.lab && viewer.lab !== id) {
      changes.set(viewer.lab, rowState("free", false));
    }
    act(row, button, form.action, new FormData(form), "Booking\u2026", "Not booked: ",
      rowState("taken", true), changes);
  });

  board.addEventListener("click", (event) => {
    const link = event.target.closest('a[data-field="release"]');
    if (!link) {
      return;
    }
    event.preventDefault();
    const row = link.closest("tr");
    if (link.getAttribute("aria-disabled") === "true"
        || !window.confirm("Release " + labelText(modelFromRow(row)) + "? Another team may book it.")) {
      return;
    }
    const data = new FormData();
    data.append("csrfmiddlewaretoken", config.csrfToken);
    act(row, link, link.href, data, "Releasing\u2026", "Not released: ",
      rowState("free", false), new Map([[Number(row.dataset.labId), rowState("free", false)]]));
  });

  // Socket --------------------------------------------------------------

  let attempts = 0;

  function onMessage(event) {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (!frame) {
      return;
    }
    switch (frame.type) {
      case "lab": applyFrames([frame]); break;
      case "labs": applyFrames(Array.isArray(frame.labs) ? frame.labs : []); break;
      case "window": applyWindow(frame); break;
      case "viewer": applyViewer(frame.project); break;
      default: break;
    }
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + config.socket);
    socket.addEventListener("open", () => {
      if (attempts > 0) {
        setConnection("Reconnected: bringing the board up to date\u2026");
        catchUp(FIRST_RETRY_MS);
      } else {
        setConnection(LIVE);
      }
      attempts = 0;
    });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", (event) => {
      // A resync retry still pending goes: after a sign-out there is nothing
      // to fetch or say, and after a drop the reconnect catches up.
      window.clearTimeout(catchUpTimer);
      if (event.code === 4401) {
        setConnection("You were signed out: reload the page to sign in again.");
        announce("You were signed out. The board no longer updates.");
        return;
      }
      attempts += 1;
      const delay = Math.min(30000, 1000 * 2 ** Math.min(attempts, 5));
      setConnection("Connection lost: reconnecting\u2026");
      window.setTimeout(connect, delay);
    });
  }

  // For the markup test: a row rendered here from a frame.
  window.pairupBoard = { renderRow: (frame) => renderRow(modelFromFrame(frame)) };
  document.body.dataset.boardReady = "true";
  scheduleClock();
  connect();
})();
