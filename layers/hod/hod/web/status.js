// The consumer's status page keeps itself current: every 20 seconds it asks the page's JSON twin where the request
// stands and reloads the page when that changed (the server renders every stage; nothing is rendered here).
"use strict";
(function () {
  const main = document.getElementById("status");
  const token = main && main.dataset.token;
  if (!token) return;
  const EVERY = 20000;

  async function check() {
    try {
      const response = await fetch("status.json?t=" + encodeURIComponent(token), { cache: "no-store" });
      if (response.ok) {
        const answer = await response.json();
        if (answer.version !== main.dataset.version) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // offline for a moment: try again at the next tick
    }
    window.setTimeout(check, EVERY);
  }
  window.setTimeout(check, EVERY);
})();
