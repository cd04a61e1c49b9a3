// The ballot on the board and the dashboard: a team's ranking and result.
//
// Without JavaScript the ranking is a form that posts the ordered list
// (each Up, Down, Remove and Add button posts it with what to change). With
// it, the same buttons change the list in place and save it at once with
// PUT /api/v1/me/project/ballot (the page's session and CSRF token); focus
// stays on the moved slot and a live region says what happened. Partners'
// saves and the ballot's result arrive over /ws/me/ (the bell's socket hands
// them on as "pairup:me" events); after the socket was away, one GET
// brings the panel up to date.
(function () {
  "use strict";

  const configElement = document.getElementById("ballot-config");
  if (!configElement) {
    return;
  }
  const config = JSON.parse(configElement.textContent);
  let view = config.frame;
  const panel = document.getElementById("ballot");
  const form = document.getElementById("ballot-form");
  const list = document.getElementById("ballot-list");
  const live = document.getElementById("ballot-live");
  const outcome = document.getElementById("ballot-outcome");
  const saved = document.querySelector('[data-testid="ballot-saved"]');
  const template = document.getElementById("ballot-item-template");
  const offset = Date.parse(config.now) - Date.now();
  const MAX_WAIT_MS = 60000;
  let opens = 0;
  let busy = false;
  let timer = null;

  function ordinal(rank) {
    const tens = rank % 100;
    if (tens >= 10 && tens <= 20) {
      return rank + "th";
    }
    return rank + ({ 1: "st", 2: "nd", 3: "rd" }[rank % 10] || "th");
  }

  function announce(text) {
    if (!live || !text) {
      return;
    }
    live.textContent = "";
    // A fresh text node, so screen readers announce repeated messages too.
    window.setTimeout(() => { live.textContent = text; }, 50);
  }

  function setTexts(text) {
    for (const element of document.querySelectorAll("[data-ballot-text]")) {
      element.textContent = text;
      element.classList.toggle("fw-semibold", view.state === "ran");
    }
  }

  function field(root, name) {
    return root.querySelector('[data-field="' + name + '"]');
  }

  function item(choice, index, count) {
    const li = template.content.firstElementChild.cloneNode(true);
    li.dataset.labId = String(choice.id);
    li.querySelector('input[name="slot"]').value = String(choice.id);
    field(li, "rank").textContent = (index + 1) + ". ";
    field(li, "label").textContent = choice.label;
    for (const button of li.querySelectorAll("button[data-move]")) {
      const verb = button.dataset.move;
      if ((verb === "up" && index === 0) || (verb === "down" && index === count - 1)) {
        button.remove();
        continue;
      }
      button.value = verb + ":" + choice.id;
      field(button, "name").textContent = " " + choice.label;
    }
    return li;
  }

  function renderForm() {
    if (!form) {
      return;
    }
    if (view.state !== "open" || view.has_slot) {
      form.remove();
      for (const part of [saved, outcome]) {
        if (part) {
          part.remove();
        }
      }
      return;
    }
    const count = view.choices.length;
    // Drawing the list again keeps the keyboard where it was: on the same
    // slot's same button, or its first one (a partner's save moved it).
    const focused = list.contains(document.activeElement) ? document.activeElement : null;
    const focusedLi = focused && focused.closest("li");
    list.replaceChildren(...view.choices.map((choice, index) => item(choice, index, count)));
    if (focusedLi) {
      focusAfter(focusedLi.dataset.labId, focused.dataset.move);
    }
    field(form, "count").textContent = String(count);
    form.querySelector('[data-testid="ballot-empty"]').hidden = count > 0;
    field(form, "add").hidden = count >= view.limit;
    field(form, "full").hidden = count < view.limit;
    const ranked = new Set(view.slots);
    const select = form.querySelector("select[name=add]");
    for (const option of select.options) {
      const taken = option.value !== "" && ranked.has(Number(option.value));
      option.hidden = taken;
      option.disabled = taken;
    }
    if (select.selectedOptions.length && select.selectedOptions[0].disabled) {
      select.value = "";
    }
  }

  function render(next) {
    view = next;
    if (panel) {
      panel.dataset.ballotState = view.state;
    }
    setTexts(view.state_text);
    if (saved) {
      saved.textContent = view.saved_text;
    }
    renderForm();
    scheduleClock();
  }

  function focusAfter(labId, verb) {
    const li = list && list.querySelector('li[data-lab-id="' + labId + '"]');
    const target = li && (li.querySelector('button[data-move="' + verb + '"]')
      || li.querySelector("button[data-move]"));
    if (target) {
      target.focus();
      return;
    }
    const next = list && list.querySelector("button[data-move]");
    (next || form.querySelector("select[name=add]")).focus();
  }

  function csrfToken() {
    const input = form && form.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  async function save(slots) {
    let response;
    try {
      response = await fetch(config.api, {
        method: "PUT",
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "X-CSRFToken": csrfToken(),
        },
        body: JSON.stringify({ slots: slots }),
      });
    } catch (error) {
      return { ok: false, detail: "The connection failed. Please try again." };
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (response.ok && body) {
      return { ok: true, view: body };
    }
    if (response.status === 401 || response.redirected) {
      return { ok: false, detail: "You were signed out: reload the page to sign in again." };
    }
    return {
      ok: false,
      detail: (body && body.detail) || "Something went wrong on our side. Please try again.",
    };
  }

  function changed(slots, press) {
    if (press.name === "move") {
      const [verb, value] = press.value.split(":");
      const id = Number(value);
      const index = slots.indexOf(id);
      if (index < 0) {
        return null;
      }
      const next = slots.slice();
      if (verb === "remove") {
        next.splice(index, 1);
      } else {
        const other = verb === "up" ? index - 1 : index + 1;
        if (other < 0 || other >= next.length) {
          return null;
        }
        [next[index], next[other]] = [next[other], next[index]];
      }
      return { slots: next, id: id, verb: verb };
    }
    if (!press.add) {
      return { error: "Choose a slot to add to the ranking." };
    }
    const id = Number(press.add);
    if (slots.includes(id)) {
      return null;
    }
    return { slots: slots.concat([id]), id: id, verb: "add" };
  }

  function saidDone(change, label) {
    const rank = change.slots.indexOf(change.id) + 1;
    const of = " of " + change.slots.length + ".";
    switch (change.verb) {
      case "remove": return "Removed " + label + ". Saved.";
      case "add": return "Added " + label + " as your " + ordinal(rank) + " choice" + of + " Saved.";
      default: return "Moved " + label + " " + change.verb + ": now your " + ordinal(rank) + " choice" + of + " Saved.";
    }
  }

  function labelOf(id) {
    const choice = view.choices.find((c) => c.id === id);
    if (choice) {
      return choice.label;
    }
    const option = form.querySelector('select[name=add] option[value="' + id + '"]');
    return option ? option.textContent : "the slot";
  }

  // Presses made while a save is on its way wait their turn (each applies to
  // the ranking the one before it saved), so a quick second press is never
  // lost. A failed save drops the presses queued behind it: they were meant
  // for a ranking that wasn't saved.
  const presses = [];

  async function apply(press) {
    const change = changed(view.slots, press);
    if (!change) {
      return true;
    }
    if (change.error) {
      outcome.textContent = change.error;
      announce(change.error);
      return false;
    }
    const label = labelOf(change.id);
    outcome.textContent = "";
    const result = await save(change.slots);
    if (!result.ok) {
      outcome.textContent = "Not saved: " + result.detail;
      announce("Not saved: " + result.detail);
      renderForm();
      return false;
    }
    render(result.view);
    if (change.verb === "add") {
      form.querySelector("select[name=add]").value = "";
    }
    focusAfter(change.id, change.verb);
    announce(saidDone(change, label));
    return true;
  }

  async function drain() {
    busy = true;
    form.setAttribute("aria-busy", "true");
    while (presses.length) {
      if (!(await apply(presses.shift()))) {
        presses.length = 0;
      }
    }
    busy = false;
    form.removeAttribute("aria-busy");
    settleHeld();
  }

  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const submitter = event.submitter;
      presses.push({
        name: submitter ? submitter.name : "",
        value: submitter ? submitter.value : "",
        add: form.querySelector("select[name=add]").value,
      });
      if (!busy) {
        drain();
      }
    });
  }

  // Partners' saves and the result, live -----------------------------------

  function teamGone() {
    view = Object.assign({}, view, { state: "gone", state_text: "Your team was dissolved, and its ranking with it." });
    setTexts(view.state_text);
    if (form) {
      form.remove();
    }
    if (saved) {
      saved.remove();
    }
    announce(view.state_text);
  }

  // A frame that comes while this page's own save is on its way is held
  // until the save's answer is shown: it is most often that save's own echo
  // (said already, as "Saved."), and drawing it would replace the buttons
  // under the user's finger. Anything newer it says comes after the answer.
  let held = null;

  function show(next) {
    const before = view;
    render(next);
    if (next.state === "ran" && before.state !== "ran") {
      announce(next.state_text);
    } else if (JSON.stringify(next.slots) !== JSON.stringify(before.slots)) {
      announce("The ranking changed. " + next.saved_text);
    }
  }

  function settleHeld() {
    const frame = held;
    held = null;
    if (!frame) {
      return;
    }
    if (frame.project === null) {
      teamGone();
      return;
    }
    const sameState = frame.state === view.state && frame.has_slot === view.has_slot;
    // (the two spell the time apart: the API in milliseconds)
    const echo = Date.parse(frame.saved_at) === Date.parse(view.saved_at)
      && JSON.stringify(frame.slots) === JSON.stringify(view.slots);
    const older = frame.saved_at && view.saved_at
      && Date.parse(frame.saved_at) < Date.parse(view.saved_at);
    if (sameState && (echo || older)) {
      return;
    }
    resync(true); // which came last isn't plain from the two: ask once
  }

  document.addEventListener("pairup:me", (event) => {
    const frame = event.detail;
    if (!frame || frame.type !== "ballot") {
      return;
    }
    if (frame.project !== null && frame.project !== view.project) {
      return;
    }
    if (busy) {
      held = frame;
      return;
    }
    if (frame.project === null) {
      teamGone();
      return;
    }
    show(frame);
  });

  async function resync(announced) {
    try {
      const response = await fetch(config.api, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.ok) {
        const next = Object.assign({ project: view.project }, await response.json());
        if (announced) {
          show(next);
        } else {
          render(next);
        }
      }
    } catch (error) {
      // offline: the next reconnect tries again
    }
  }

  document.addEventListener("pairup:me-open", () => {
    opens += 1;
    if (opens > 1) {
      resync(); // frames may have been missed while the socket was away
    }
  });

  // The closing time, on the page's clock ----------------------------------

  function scheduleClock() {
    window.clearTimeout(timer);
    if (view.state !== "open" || !view.closes_at) {
      return;
    }
    const wait = Date.parse(view.closes_at) - (Date.now() + offset);
    if (wait <= 0) {
      render(Object.assign({}, view, {
        state: "due",
        state_text: "The ballot closed " + view.closes_text + ": the allocation is running.",
      }));
      return;
    }
    timer = window.setTimeout(scheduleClock, Math.min(wait + 20, MAX_WAIT_MS));
  }

  render(view);
  document.body.dataset.ballotReady = "true";
})();
