// The offer page's countdown: the time left to answer, every second, until the offer's deadline; and clock times
// the server could not write in the agent's time zone, written in this browser's (in the page's language).
"use strict";
(function () {
  const locale = document.documentElement.lang === "es" ? "es-US" : "en-US";

  for (const node of document.querySelectorAll("[data-clock]")) {
    if (node.textContent.trim()) continue;
    node.textContent = new Intl.DateTimeFormat(locale, { hour: "numeric", minute: "2-digit", timeZoneName: "short" })
      .format(new Date(node.dataset.clock));
  }

  const counters = Array.from(document.querySelectorAll("[data-deadline]"));
  function tick() {
    for (const node of counters) {
      const seconds = Math.max(0, Math.floor((new Date(node.dataset.deadline) - Date.now()) / 1000));
      node.textContent = seconds > 0
        ? Math.floor(seconds / 60) + " min " + String(seconds % 60).padStart(2, "0") + " s"
        : node.dataset.done;
    }
  }
  if (counters.length) {
    tick();
    setInterval(tick, 1000);
  }
})();
