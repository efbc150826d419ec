// Switchback console: two small behaviours, no framework.
"use strict";

// A running execution's page refreshes itself: the page is fetched again and its `#live`
// part swapped in, until the execution ends (the new part then has no `data-refresh`).
function refreshLive() {
  const live = document.getElementById("live");
  if (!live || !live.dataset.refresh) return;
  const every = Number(live.dataset.refresh) || 2000;
  setTimeout(async () => {
    try {
      const response = await fetch(location.href, { credentials: "same-origin" });
      if (response.ok) {
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.getElementById("live");
        const current = document.getElementById("live");
        if (fresh && current) current.replaceWith(document.adoptNode(fresh));
      }
    } catch (_) {
      // The server may be restarting: try again at the next tick.
    }
    refreshLive();
  }, every);
}

// Text areas marked `data-json` must hold JSON before their form is sent.
function checkJson() {
  for (const area of document.querySelectorAll("textarea[data-json]")) {
    const form = area.form;
    const message = form.querySelector(".json-error");
    form.addEventListener("submit", (event) => {
      try {
        JSON.parse(area.value.trim() === "" ? "{}" : area.value);
        if (message) message.hidden = true;
      } catch (error) {
        event.preventDefault();
        if (message) {
          message.textContent = "The input is not JSON: " + error.message;
          message.hidden = false;
        }
      }
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  refreshLive();
  checkJson();
});
