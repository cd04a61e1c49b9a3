// The coordinator page, live: its counts, pictures, ballot and table of
// students follow the unit as students pair, rank and book.
//
// The page listens on the lab board's socket as a coordinator
// (/ws/labs/?view=coordinator): each change there (a slot booked, freed or
// changed; a team formed, joined or left; a team ranking slots, a dry run or
// the run of the ballot) sends this page one small {"type": "coordinator"}
// frame and no slot frames. The ballot closing is a moment, not a write: the
// page asks again just after the closing time its ballot section carries
// (data-closes-at), and keeps its "(in 3 hours, 5 minutes)" current until
// then (data-countdown), with no request. A frame makes the page
// ask for its live parts again with ONE request (/coordinator/live/, the
// same filters and page), at most one at a time and at most one a second: a
// burst of bookings costs one or two requests, not one per booking. The
// parts are swapped in place; one the user is working in (focus inside) is
// swapped when focus leaves it, and open "as a table" sections stay open.
// A screen reader hears which counts changed. A request that fails is
// tried again after a few seconds, and the next that works takes the
// warning away. Without JavaScript the page
// is the same, as of its last load.
(function () {
  "use strict";

  const configElement = document.getElementById("coordinator-config");
  if (!configElement) {
    return;
  }
  const config = JSON.parse(configElement.textContent);
  const connection = document.getElementById("coordinator-connection");
  const announcer = document.getElementById("coordinator-announcer");
  const MIN_GAP_MS = 1000;
  const RETRY_MS = 5000;
  const LIVE = "Live: the counts, pictures, ballot and table update as students pair, rank and book.";
  const MAX_TIMER_MS = 2147483647; // setTimeout fires at once past this
  const AFTER_CLOSING_MS = 1000; // the server's clock may be a little behind
  const CLOCK_AHEAD_RETRY_MS = 30000;
  const MINUTE_MS = 60000;
  const WEEK_MS = 7 * 24 * 60 * MINUTE_MS;
  // Beyond four weeks the server says months, which the page leaves alone.
  const COUNTDOWN_MAX_MS = 4 * WEEK_MS;
  const COUNTDOWN_UNITS = [
    ["week", WEEK_MS], ["day", 24 * 60 * MINUTE_MS], ["hour", 60 * MINUTE_MS],
    ["minute", MINUTE_MS],
  ];
  let attempts = 0;
  let online = false; // the socket is open
  let fetching = false;
  let again = false;
  let lastFetch = 0;
  let timer = null;
  let closingTimer = null;
  let countdownTimer = null;
  const deferred = {};

  function setConnection(text) {
    connection.textContent = text;
  }

  function announce(text) {
    if (!text) {
      return;
    }
    announcer.textContent = "";
    window.setTimeout(() => { announcer.textContent = text; }, 50);
  }

  function livePart(name) {
    return document.querySelector('#main [data-live-part="' + name + '"]');
  }

  function readCounts() {
    const counts = {};
    const list = document.querySelector('[data-testid="counts"]');
    if (list) {
      list.querySelectorAll("dt").forEach((dt) => {
        counts[dt.textContent.trim()] = dt.nextElementSibling.textContent.trim();
      });
    }
    // The ballot's "2 of 7": what a coordinator waits for while teams rank.
    const ranked = document.querySelector('[data-testid="coordinator-ballot-ranked"]');
    const figures = ranked && ranked.textContent.match(/^\s*(\d+ of \d+)/);
    if (figures) {
      counts["Teams that ranked"] = figures[1];
    }
    return counts;
  }

  // Ask again just after the ballot closes (its section says when, while
  // teams may still rank): the section then says the allocation is due.
  function watchClosing() {
    window.clearTimeout(closingTimer);
    closingTimer = null;
    const part = livePart("ballot");
    const section = part && part.querySelector("[data-closes-at]");
    if (!section) {
      return;
    }
    const closes = Date.parse(section.dataset.closesAt);
    if (Number.isNaN(closes)) {
      return;
    }
    const wait = closes + AFTER_CLOSING_MS - Date.now();
    if (wait <= 0) {
      // This clock is past a closing the server hasn't reached: ask again
      // in a while, not in a loop.
      closingTimer = window.setTimeout(() => {
        closingTimer = null;
        refresh();
      }, CLOCK_AHEAD_RETRY_MS);
      return;
    }
    closingTimer = window.setTimeout(() => {
      closingTimer = null;
      if (Date.now() >= closes + AFTER_CLOSING_MS) {
        refresh();
      } else {
        watchClosing(); // a wait longer than one timer holds
      }
    }, Math.min(wait, MAX_TIMER_MS));
  }

  // A time left as Django's timeuntil says it (under four weeks): at most
  // two adjacent units, "23 hours, 59 minutes", never wrapped inside one.
  function untilText(ms) {
    let left = ms;
    const values = COUNTDOWN_UNITS.map(([, size]) => {
      const value = Math.floor(left / size);
      left -= value * size;
      return value;
    });
    let index = values.findIndex((value) => value > 0);
    if (index < 0) {
      return "0\u00a0minutes";
    }
    const parts = [];
    while (index < values.length && parts.length < 2 && values[index] > 0) {
      const value = values[index];
      parts.push(value + "\u00a0" + COUNTDOWN_UNITS[index][0] + (value === 1 ? "" : "s"));
      index += 1;
    }
    return parts.join(", ");
  }

  // Keep the ballot's "(in ...)" current between fetches of its section:
  // say it again each time its minutes change.
  function tickCountdown() {
    window.clearTimeout(countdownTimer);
    countdownTimer = null;
    const part = livePart("ballot");
    const section = part && part.querySelector("[data-closes-at]");
    const countdown = section && section.querySelector("[data-countdown]");
    const closes = section ? Date.parse(section.dataset.closesAt) : NaN;
    if (!countdown || Number.isNaN(closes)) {
      return;
    }
    const left = closes - Date.now();
    if (left >= COUNTDOWN_MAX_MS) {
      countdownTimer = window.setTimeout(tickCountdown, 60 * MINUTE_MS);
      return;
    }
    if (left <= 0) {
      countdown.textContent = ""; // the fetch after the closing says the rest
      return;
    }
    countdown.textContent = " (in " + untilText(left) + ")";
    countdownTimer = window.setTimeout(tickCountdown, (left % MINUTE_MS) + 50);
  }

  function changes(before, after) {
    const said = [];
    Object.keys(after).forEach((name) => {
      if (before[name] !== undefined && before[name] !== after[name]) {
        said.push(name + ": " + after[name] + " (was " + before[name] + ")");
      }
    });
    return said.length ? "Updated. " + said.join(". ") + "." : "";
  }

  // Swap a part's content, keeping its open <details> open.
  function swap(current, fresh) {
    const open = Array.from(current.querySelectorAll("details"),
      (details) => details.open);
    current.replaceChildren(...fresh.childNodes);
    current.querySelectorAll("details").forEach((details, index) => {
      if (open[index]) {
        details.open = true;
      }
    });
    if (current.dataset.livePart === "ballot") {
      watchClosing();
      tickCountdown();
    }
  }

  function apply(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    template.content.querySelectorAll("[data-live-part]").forEach((fresh) => {
      const name = fresh.dataset.livePart;
      const current = livePart(name);
      if (!current) {
        return;
      }
      if (current.contains(document.activeElement)) {
        deferred[name] = fresh; // swapped when focus leaves the part
        return;
      }
      delete deferred[name];
      swap(current, fresh);
    });
  }

  document.addEventListener("focusout", (event) => {
    Object.keys(deferred).forEach((name) => {
      const current = livePart(name);
      if (current && current.contains(event.target)
          && !current.contains(event.relatedTarget)) {
        const fresh = deferred[name];
        delete deferred[name];
        swap(current, fresh);
      }
    });
  });

  function refresh() {
    if (fetching) {
      again = true;
      return;
    }
    const wait = lastFetch + MIN_GAP_MS - Date.now();
    if (wait > 0) {
      if (!timer) {
        timer = window.setTimeout(() => {
          timer = null;
          refresh();
        }, wait);
      }
      return;
    }
    fetching = true;
    lastFetch = Date.now();
    fetch(config.liveUrl, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    })
      .then((response) => {
        if (!response.ok || response.redirected) {
          throw new Error("status " + response.status);
        }
        return response.text();
      })
      .then((html) => {
        const before = readCounts();
        apply(html);
        announce(changes(before, readCounts()));
        if (online) {
          setConnection(LIVE); // a failure before this one is made good
        }
      })
      .catch(() => {
        setConnection("The last update failed: trying again (reload the page if this stays).");
        if (!timer) {
          timer = window.setTimeout(() => {
            timer = null;
            refresh();
          }, RETRY_MS);
        }
      })
      .finally(() => {
        fetching = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + config.socket);
    socket.addEventListener("open", () => {
      online = true;
      setConnection(LIVE);
      if (attempts > 0) {
        refresh(); // changes made while the socket was away
      }
      attempts = 0;
    });
    socket.addEventListener("message", (event) => {
      let frame = null;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (frame && frame.type === "coordinator") {
        refresh();
      }
    });
    socket.addEventListener("close", (event) => {
      online = false;
      if (event.code === 4401) {
        setConnection("You were signed out: reload the page to sign in again.");
        return;
      }
      attempts += 1;
      const delay = Math.min(30000, 1000 * 2 ** Math.min(attempts, 5));
      setConnection("Connection lost: reconnecting\u2026");
      window.setTimeout(connect, delay);
    });
  }

  watchClosing();
  tickCountdown();
  connect();
}());
