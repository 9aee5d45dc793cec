// The console's Coverage section: a state and language, a 7 x 24 table (days x hours, consumers' local time) whose
// cells are coloured by the agents available and marked where referrals went to the safety net or ended unserved,
// the same hours listed as text, and the CSV. It shares the console's sign-in (the token in sessionStorage) and
// shows itself when the address is #coverage; the rest of the console is admin.js. Text only, never innerHTML.
"use strict";
(function () {
  const TOKEN_KEY = "hod-admin-token";
  const $ = (id) => document.getElementById(id);
  const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
  const SHORT_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  const LANGUAGE_NAMES = JSON.parse($("language-names").textContent);
  let shown = null; // the query of the map on screen, for its CSV

  function node(tag, className, text) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined) made.textContent = text;
    return made;
  }

  function say(box, message) {
    box.textContent = message || "";
    box.classList.toggle("hidden", !message);
    if (message) box.focus();
  }

  const hh = (hour) => String(hour).padStart(2, "0") + ":00";
  const pct = (share) => Math.round(share * 100) + "%";
  const level = (agents) => (agents === 0 ? "c0" : agents <= 2 ? "c1" : agents <= 5 ? "c2" : "c3");

  // ----- the section, in the console's tabs ------------------------------------------------------------------
  function place() {
    if ($("console").classList.contains("hidden")) return;
    const here = location.hash === "#coverage";
    $("coverage").classList.toggle("hidden", !here);
    if (!here) return;
    for (const panel of document.querySelectorAll("#console section.panel")) {
      panel.classList.toggle("hidden", panel.id !== "coverage");
    }
    for (const link of document.querySelectorAll("nav.tabs a")) {
      if (link.getAttribute("href") === "#coverage") link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  window.addEventListener("hashchange", () => {
    place();
    if (location.hash === "#coverage" && !$("console").classList.contains("hidden")) $("coverage-title").focus();
  });
  new MutationObserver(place).observe($("console"), { attributes: true, attributeFilter: ["class"] });

  const languages = $("coverage-language");
  for (const [code, name] of Object.entries(LANGUAGE_NAMES)) {
    const option = node("option", null, name + " (" + code + ")");
    option.value = code;
    languages.append(option);
  }
  languages.value = "es";

  // ----- reading the map -------------------------------------------------------------------------------------
  async function get(path) {
    let response;
    try {
      response = await fetch(path, { headers: { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) } });
    } catch (error) {
      throw new Error("The service could not be reached. Check your connection and try again.");
    }
    if (response.status === 401) {
      // admin.js signs out on its next request; say why here
      throw new Error("Your administrator token was not accepted (it may have expired). Sign out and sign in again.");
    }
    return response;
  }

  function fieldErrors(fields) {
    for (const name of ["state", "language"]) {
      const message = fields[name];
      const error = $("coverage-" + name + "-error");
      error.textContent = message ? "Choose a valid " + name + ": " + message : "";
      error.classList.toggle("hidden", !message);
      if (message) $("coverage-" + name).setAttribute("aria-invalid", "true");
      else $("coverage-" + name).removeAttribute("aria-invalid");
    }
  }

  function describe(cell) {
    const agents = cell.agents === 1 ? "1 agent" : cell.agents + " agents";
    if (!cell.referrals) return agents;
    const parts = [agents, cell.referrals + (cell.referrals === 1 ? " referral" : " referrals")];
    if (cell.safety_net) parts.push(cell.safety_net + " to the safety net (" + pct(cell.safety_net_share) + ")");
    if (cell.unserved) parts.push(cell.unserved + " unserved (" + pct(cell.unserved_share) + ")");
    return parts.join(", ");
  }

  function gridCell(cell) {
    const td = node("td", "cov " + level(cell.agents));
    td.dataset.hourOfWeek = String(cell.hour_of_week);
    td.title = DAYS[Math.floor(cell.hour_of_week / 24)] + " " + hh(cell.hour) + ": " + describe(cell);
    td.append(node("span", "count", String(cell.agents)));
    // the rest of the description in words, for screen readers; the marks are its short visual form
    td.append(node("span", "visually-hidden", describe(cell).slice(String(cell.agents).length)));
    for (const [count, mark] of [[cell.safety_net, "SN"], [cell.unserved, "U"]]) {
      if (!count) continue;
      const shown = node("span", "mark", mark);
      shown.setAttribute("aria-hidden", "true");
      td.append(shown);
    }
    return td;
  }

  function render(answer) {
    const name = (LANGUAGE_NAMES[answer.language] || answer.language) + " (" + answer.language + ")";
    const cells = answer.cells;
    $("coverage-heading").textContent = "Coverage in " + answer.state + ", " + name;
    $("coverage-about").textContent = answer.computed_at
      ? "Hours in " + answer.time_zone + " (the zone most of the state's people live in). Agents from the weekly " +
        "hours of the week of " + answer.week_of + "; referrals of the last " + answer.weeks + " weeks" +
        (answer.referral_days < answer.weeks * 7 + 1
          ? " (" + answer.referral_days + " of " + (answer.weeks * 7 + 1) + " days counted so far)"
          : "") +
        ". Computed " + new Date(answer.computed_at).toLocaleString() + "."
      : "Not computed yet: the map is computed every hour (or now with hod-admin coverage).";
    $("coverage-caption").textContent =
      "Agents available in " + answer.state + " speaking " + name + ", by day and hour (consumers' local time)";
    const head = node("tr");
    head.append(node("th", null, "Day"));
    for (let hour = 0; hour < 24; hour += 1) {
      const th = node("th", null, String(hour).padStart(2, "0"));
      th.scope = "col";
      th.append(node("span", "visually-hidden", ":00"));
      head.append(th);
    }
    head.firstChild.scope = "col";
    $("coverage-table").tHead.replaceChildren(head);
    const rows = DAYS.map((day, index) => {
      const tr = node("tr");
      const th = node("th", null, SHORT_DAYS[index]);
      th.scope = "row";
      th.append(node("span", "visually-hidden", day.slice(3)));
      tr.append(th, ...cells.slice(index * 24, index * 24 + 24).map(gridCell));
      return tr;
    });
    $("coverage-table").tBodies[0].replaceChildren(...rows);
    const gaps = cells.filter((cell) => cell.safety_net || cell.unserved);
    $("coverage-gaps").replaceChildren(
      ...gaps.map((cell) =>
        node("li", null, DAYS[Math.floor(cell.hour_of_week / 24)] + " " + hh(cell.hour) + "–" +
          hh((cell.hour + 1) % 24) + ": " + describe(cell)),
      ),
    );
    $("coverage-none").classList.toggle("hidden", gaps.length > 0);
    $("coverage-result").classList.remove("hidden");
    $("coverage-heading").focus();
  }

  $("coverage-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    say($("coverage-error"), "");
    const state = $("coverage-state").value.trim().toUpperCase();
    fieldErrors(state ? {} : { state: "a two-letter code" });
    if (!state) return say($("coverage-error"), "Enter a state's two-letter code.");
    const query = "state=" + encodeURIComponent(state) + "&language=" + encodeURIComponent(languages.value);
    try {
      const response = await get("admin/coverage?" + query);
      const answer = await response.json().catch(() => ({}));
      if (response.status !== 200) {
        fieldErrors(answer.fields || {});
        return say($("coverage-error"), answer.fields ? "Check the state and language." : answer.message ||
          "The request was refused.");
      }
      fieldErrors({});
      shown = query;
      render(answer);
    } catch (error) {
      say($("coverage-error"), error.message);
    }
  });

  $("coverage-csv").addEventListener("click", async () => {
    if (!shown) return;
    try {
      const response = await get("admin/coverage.csv?" + shown);
      if (response.status !== 200) return say($("coverage-error"), "The CSV could not be made.");
      const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
      const url = URL.createObjectURL(await response.blob());
      const link = node("a", "hidden");
      link.href = url;
      link.download = named ? named[1] : "hod-coverage.csv";
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      say($("coverage-error"), error.message);
    }
  });

  place();
})();
