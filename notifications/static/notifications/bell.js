// The navbar bell: its count and new notifications, live over /ws/me/.
// Without JavaScript the bell is a link to /notifications/ with the count
// the server rendered; this only keeps it current. Frames of other types
// go to the page as "pairup:me" events (and "pairup:me-open" on each
// connect, for a page to resync after a gap).
(function () {
  "use strict";
  var bell = document.getElementById("bell");
  var badge = document.getElementById("bell-count");
  var toasts = document.getElementById("bell-toasts");
  if (!bell || !badge || !toasts || !window.WebSocket) {
    return;
  }
  var REVOKED = 4401;
  var delay = 1000;

  function showCount(count) {
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.classList.toggle("d-none", count === 0);
    bell.dataset.unread = String(count);
    bell.setAttribute(
      "aria-label",
      count ? "Notifications, " + count + " unread" : "Notifications"
    );
  }

  function announce(item) {
    // The container is the aria-live region: screen readers read the text
    // once. A role here too would nest a second region inside it.
    var toast = document.createElement("div");
    toast.className = "toast show bell-toast mb-2";
    toast.dataset.testid = "bell-toast";
    var body = document.createElement("div");
    body.className = "toast-body d-flex gap-2 align-items-start";
    var link = document.createElement("a");
    link.href = "/notifications/" + encodeURIComponent(item.id) + "/";
    link.className = "link-body-emphasis flex-grow-1 bell-toast-text";
    link.textContent = item.text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", function () {
      toast.remove();
    });
    body.appendChild(link);
    body.appendChild(close);
    toast.appendChild(body);
    toasts.appendChild(toast);
    // It goes after 15 s, but not from under the user: while keyboard focus
    // or the pointer is on it, it waits for them to leave (WCAG 2.2.1).
    function expire() {
      if (toast.contains(document.activeElement) || toast.matches(":hover")) {
        window.setTimeout(expire, 5000);
      } else {
        toast.remove();
      }
    }
    window.setTimeout(expire, 15000);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/me/");
    socket.addEventListener("open", function () {
      delay = 1000;
      bell.dataset.live = "true";
      document.dispatchEvent(new CustomEvent("pairup:me-open"));
    });
    socket.addEventListener("message", function (message) {
      var frame;
      try {
        frame = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (frame.type === "unread") {
        showCount(frame.count);
      } else if (frame.type === "notification") {
        showCount(frame.unread);
        announce(frame.notification);
      } else {
        // Other apps' frames for this user (the ballot's ranking and result).
        document.dispatchEvent(new CustomEvent("pairup:me", { detail: frame }));
      }
    });
    socket.addEventListener("close", function (event) {
      bell.dataset.live = "false";
      if (event.code === REVOKED) {
        return; // signed out: this page's session is over
      }
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  connect();
})();
