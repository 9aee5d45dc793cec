// The agent portal: sign-in by e-mailed link, then Manage Referrals, Availability, Profile and Metrics.
// Talks to the agent API with the session token the sign-in link was exchanged for (kept in this browser for
// the session's lifetime). No framework: the DOM is built with createElement, never from HTML strings.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("data").textContent);
  const SESSION_KEY = "hod.agent.session";
  const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const DAY_NAMES = { mon: "Monday", tue: "Tuesday", wed: "Wednesday", thu: "Thursday", fri: "Friday", sat: "Saturday", sun: "Sunday" };
  const STATUS_LABELS = {
    pending: "Pending", accepted: "Accepted", in_progress: "In Progress", not_a_good_referral: "Not a Good Referral",
    completed: "Completed", missed: "Missed Referral", rejected: "Rejected", taken: "Taken by another agent",
  };
  const REASONS = {
    wrong_contact_details: "Wrong contact details", already_has_broker: "Already has a broker",
    unreachable_after_three_attempts: "Unreachable after three attempts",
  };
  const OUTCOMES = {
    selected_marketplace_qhp: "Selected a Marketplace QHP", referred_to_medicaid: "Referred to Medicaid",
    referred_to_navigator_assister: "Referred to a Navigator/Assister", other: "Other",
  };
  const METHODS = {
    email_text_app: "E-mail, text and app", email_text: "E-mail and text", email_app: "E-mail and app", email_only: "E-mail only",
  };
  const US_ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
    "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico"];
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "America/New_York";

  const $ = (id) => document.getElementById(id);
  let session = null;
  let profile = null;
  let rows = [];
  let availability = null;
  let ticker = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function notice(message, kind) {
    const box = $("notice");
    box.className = "alert " + (kind || "success");
    box.textContent = message;
    box.focus();
  }

  function clearNotice() {
    $("notice").className = "alert hidden";
  }

  // ----- API -------------------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || "The service did not answer (" + status + ").");
      this.status = status;
      this.fields = (body && body.fields) || {};
    }
  }

  async function api(method, path, body) {
    const headers = {};
    if (session) headers.Authorization = "Bearer " + session.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const answer = await response.json().catch(() => null);
    if (response.status === 401 && session) {
      signOut("Your session has ended. Ask for a new sign-in link.");
      throw new ApiError(401, answer);
    }
    if (!response.ok) throw new ApiError(response.status, answer);
    return answer;
  }

  function explain(error) {
    const fields = Object.values(error.fields || {}).map(plain).join(" ");
    return fields || error.message;
  }

  // Refusals in plain words, next to the field they concern. The API names each problem by its field and words it
  // for developers ("end must be after start"); the portal says what to do, beside the input (`where`: the API's
  // field name → the input's id), and sums up at the top.
  const PLAIN = [
    [/must have 10 digits/, "Enter a 10-digit US phone number, like 512-555-0188."],
    [/end must be after start/, "The end must be after the start."],
  ];

  function plain(why) {
    for (const [pattern, words] of PLAIN) if (pattern.test(why)) return words;
    const text = String(why);
    return text.charAt(0).toUpperCase() + text.slice(1) + (text.endsWith(".") ? "" : ".");
  }

  function clearProblems() {
    for (const note of document.querySelectorAll("[data-problem-for]")) {
      const input = $(note.dataset.problemFor);
      if (input) { input.removeAttribute("aria-invalid"); input.removeAttribute("aria-describedby"); }
      note.remove();
    }
  }

  function showProblems(error, where) {
    clearProblems();
    const unplaced = [];
    let placed = 0;
    for (const [name, why] of Object.entries(error.fields || {})) {
      const input = where[name] ? $(where[name]) : null;
      if (!input) { unplaced.push(plain(why)); continue; }
      const note = el("p", { class: "field-error", id: input.id + "-problem", "data-problem-for": input.id, text: plain(why) });
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", note.id);
      input.insertAdjacentElement("afterend", note);
      placed += 1;
    }
    const summary = placed ? ["Please check the field marked below.", ...unplaced] : unplaced;
    notice(summary.length ? summary.join(" ") : error.message, "error");
  }

  // ----- session ---------------------------------------------------------------------------------------------
  function loadSession() {
    try {
      const saved = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
      if (saved && new Date(saved.expires_at) > new Date()) return saved;
    } catch (error) { /* a damaged entry is treated as signed out */ }
    localStorage.removeItem(SESSION_KEY);
    return null;
  }

  function signOut(message) {
    session = null;
    localStorage.removeItem(SESSION_KEY);
    if (ticker) clearInterval(ticker);
    showSignIn();
    if (message) notice(message, "info");
  }

  function showSignIn() {
    $("app").classList.add("hidden");
    $("who").classList.add("hidden");
    $("sign-out").classList.add("hidden");
    $("signin").classList.remove("hidden");
  }

  async function exchange(token) {
    history.replaceState(null, "", location.pathname + location.search + "#referrals");
    try {
      const answer = await fetch("sign-in/session", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }),
      });
      const body = await answer.json().catch(() => null);
      if (!answer.ok) throw new ApiError(answer.status, body);
      session = body;
      localStorage.setItem(SESSION_KEY, JSON.stringify(session));
      return true;
    } catch (error) {
      showSignIn();
      notice(error.message, "error");
      return false;
    }
  }

  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("signin-email");
    const error = $("signin-email-error");
    error.classList.add("hidden");
    input.removeAttribute("aria-invalid");
    if (!/^[^@\s]+@[^@\s]+$/.test(input.value.trim())) {
      input.setAttribute("aria-invalid", "true");
      error.textContent = "Enter the e-mail address the program has for you.";
      error.classList.remove("hidden");
      input.focus();
      return;
    }
    try {
      const answer = await api("POST", "sign-in", { email: input.value.trim() });
      notice(answer.message + " Check your e-mail and open the link on this device.", "success");
    } catch (failure) {
      notice(explain(failure), "error");
    }
  });

  $("sign-out").addEventListener("click", () => signOut("You are signed out."));

  // ----- navigation ------------------------------------------------------------------------------------------
  let currentTab = null;

  function showTab(name) {
    const known = ["referrals", "availability", "profile", "metrics"];
    if (!known.includes(name)) name = "referrals";
    currentTab = name;
    for (const link of document.querySelectorAll("nav.tabs a")) {
      if (link.dataset.tab === name) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    for (const panel of document.querySelectorAll("[data-panel]")) panel.classList.toggle("hidden", panel.dataset.panel !== name);
    clearNotice();
    const loaders = { referrals: loadReferrals, availability: loadAvailability, profile: renderProfile, metrics: loadMetrics };
    loaders[name]();
  }

  window.addEventListener("hashchange", () => {
    if (/^#t=/.test(location.hash)) start(); // a sign-in link opened in a tab already showing the portal
    else if (session) showTab(location.hash.slice(1));
  });

  // ----- formatting ------------------------------------------------------------------------------------------
  function zoneOptions(select, selected) {
    const zones = Array.from(new Set([browserZone, ...US_ZONES, selected].filter(Boolean)));
    select.replaceChildren(...zones.map((zone) => el("option", { value: zone, selected: zone === selected }, zone.replace("_", " "))));
  }

  function when(iso, zone) {
    if (!iso) return "—";
    return new Intl.DateTimeFormat("en-US", {
      timeZone: zone, month: "short", day: "numeric", year: "numeric", hour: "numeric", minute: "2-digit", timeZoneName: "short",
    }).format(new Date(iso));
  }

  function dayIn(iso, zone) {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(new Date(iso));
    const get = (type) => parts.find((p) => p.type === type).value;
    return get("year") + "-" + get("month") + "-" + get("day");
  }

  function timeLeft(iso) {
    const seconds = Math.max(0, Math.floor((new Date(iso) - new Date()) / 1000));
    return Math.floor(seconds / 60) + " min " + String(seconds % 60).padStart(2, "0") + " s left";
  }

  // ----- Manage Referrals ------------------------------------------------------------------------------------
  // Answers can arrive out of order (a slow load, then a quick change): only the latest request's answer is shown.
  const latest = { referrals: 0, availability: 0 };

  // Whether the last load worked (the live poll backs off when it did not).
  async function loadReferrals(quietly) {
    const seq = ++latest.referrals;
    try {
      const answer = await api("GET", "agent/referrals?days=90");
      if (seq !== latest.referrals) return true;
      rows = answer.referrals;
      renderReferrals();
      announceNewOffers();
      return true;
    } catch (error) {
      if (error.status !== 401 && !quietly) notice(explain(error), "error");
      return false;
    }
  }

  // ----- live offers -----------------------------------------------------------------------------------------
  // While the portal is on screen, Manage Referrals asks for the agent's referrals every POLL_S seconds, so a new
  // offer shows without a reload; slower once the agent has not touched the page for IDLE_AFTER_MS, never while
  // the page is hidden (a locked phone, another tab), and backing off after failures. Each look is one API
  // request (docs/web.md counts what that costs). The page's title counts pending offers; a sound is optional.
  const POLL_S = 15, IDLE_POLL_S = 60, POLL_MAX_S = 120, IDLE_AFTER_MS = 10 * 60 * 1000;
  const SOUND_KEY = "hod.agent.sound";
  const baseTitle = document.title;
  let pollTimer = null;
  let pollDelay = POLL_S;
  let lastActive = Date.now();
  let seenPending = null; // the pending offers already shown (null before the first load)

  function schedulePoll(seconds) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, seconds * 1000);
  }

  async function poll() {
    const watching = session && document.visibilityState === "visible" && currentTab === "referrals";
    if (!watching) return schedulePoll(POLL_S);
    const worked = await loadReferrals(true);
    const idle = Date.now() - lastActive > IDLE_AFTER_MS;
    pollDelay = worked ? (idle ? IDLE_POLL_S : POLL_S) : Math.min(2 * pollDelay, POLL_MAX_S);
    schedulePoll(pollDelay);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && session) poll();
  });
  for (const kind of ["pointerdown", "keydown", "scroll", "focus"]) {
    window.addEventListener(kind, () => { lastActive = Date.now(); }, { passive: true, capture: true });
  }

  function announceNewOffers() {
    const pending = rows.filter((row) => row.status === "pending");
    document.title = (pending.length ? "(" + pending.length + ") " : "") + baseTitle;
    const fresh = seenPending ? pending.filter((row) => !seenPending.has(row.referral_id)) : [];
    seenPending = new Set(pending.map((row) => row.referral_id));
    if (!fresh.length) return;
    const zone = $("f-zone").value || browserZone;
    const row = fresh[0];
    const by = row.expires_at ? " Answer by " + when(row.expires_at, zone) + "." : " The first agent to accept gets it.";
    const box = $("new-offer");
    box.textContent = (fresh.length > 1 ? fresh.length + " new referral offers. " : "New referral offer in " +
      row.place.city + ", " + row.place.state + ".") + by;
    box.classList.remove("hidden");
    if ($("sound").checked) chime();
  }

  function chime() {
    try {
      const Audio = window.AudioContext || window.webkitAudioContext;
      const context = new Audio();
      const tone = context.createOscillator();
      const volume = context.createGain();
      tone.frequency.value = 880;
      volume.gain.setValueAtTime(0.2, context.currentTime);
      volume.gain.exponentialRampToValueAtTime(0.001, context.currentTime + 0.6);
      tone.connect(volume).connect(context.destination);
      tone.start();
      tone.stop(context.currentTime + 0.6);
    } catch (error) {
      // no sound where the browser has none to give
    }
  }

  $("sound").checked = localStorage.getItem(SOUND_KEY) === "on";
  $("sound").addEventListener("change", () => {
    localStorage.setItem(SOUND_KEY, $("sound").checked ? "on" : "off");
    if ($("sound").checked) chime(); // so the agent hears what it sounds like
  });

  function filtered() {
    const status = $("f-status").value;
    const first = $("f-first").value.trim().toLowerCase();
    const last = $("f-last").value.trim().toLowerCase();
    const from = $("f-from").value;
    const to = $("f-to").value;
    const zone = $("f-zone").value || browserZone;
    return rows.filter((row) => {
      if (status && row.status !== status) return false;
      const consumer = row.consumer || {};
      if (first && !(consumer.first_name || "").toLowerCase().includes(first)) return false;
      if (last && !(consumer.last_name || "").toLowerCase().includes(last)) return false;
      const day = dayIn(row.assigned_at, zone);
      if (from && day < from) return false;
      if (to && day > to) return false;
      return true;
    });
  }

  function statusCell(row) {
    const cell = el("td", { "data-label": "Referral Status" });
    const label = row.status === "missed" ? "Expired" : STATUS_LABELS[row.status] || row.status;
    cell.append(el("span", { class: "badge " + row.status, text: label }));
    if (row.status === "pending") {
      if (row.expires_at) cell.append(el("p", { class: "small", "data-deadline": row.expires_at, text: timeLeft(row.expires_at) }));
      else cell.append(el("p", { class: "small", text: "Safety net: the first agent to accept gets it" }));
      cell.append(
        el("div", { class: "row" },
          el("button", { type: "button", class: "accept shrink", onclick: () => answer(row, "accept") }, "Accept"),
          el("button", { type: "button", class: "reject shrink", onclick: () => answer(row, "reject") }, "Reject")),
      );
    }
    if (row.status === "not_a_good_referral" && row.not_good_reason) cell.append(el("p", { class: "small", text: REASONS[row.not_good_reason] }));
    if (row.status === "completed" && row.outcome) cell.append(el("p", { class: "small", text: OUTCOMES[row.outcome] }));
    if (row.status === "accepted" || row.status === "in_progress") cell.append(statusForm(row));
    return cell;
  }

  function statusForm(row) {
    const id = row.referral_id;
    const choice = el("select", { id: "s-" + id, "aria-label": "New status" },
      el("option", { value: "" }, "Update status…"),
      row.status === "accepted" ? el("option", { value: "in_progress" }, "In Progress") : null,
      el("option", { value: "not_a_good_referral" }, "Not a Good Referral"),
      el("option", { value: "completed" }, "Completed"));
    const detail = el("select", { id: "d-" + id, "aria-label": "Reason or outcome", class: "hidden" });
    choice.addEventListener("change", () => {
      const options = choice.value === "completed" ? OUTCOMES : choice.value === "not_a_good_referral" ? REASONS : null;
      detail.classList.toggle("hidden", !options);
      detail.replaceChildren(...Object.entries(options || {}).map(([value, label]) => el("option", { value }, label)));
    });
    const save = el("button", { type: "button", class: "shrink" }, "Save status");
    save.addEventListener("click", async () => {
      if (!choice.value) return notice("Choose a new status first.", "error");
      const body = { status: choice.value };
      if (choice.value === "completed") body.outcome = detail.value;
      if (choice.value === "not_a_good_referral") body.reason = detail.value;
      try {
        await api("POST", "agent/referrals/" + encodeURIComponent(id) + "/status", body);
        await loadReferrals();
        notice("Status saved: " + STATUS_LABELS[body.status] + ".");
      } catch (error) {
        notice(explain(error), "error");
      }
    });
    return el("div", { class: "row" }, choice, detail, save);
  }

  async function answer(row, verb) {
    try {
      const result = await api("POST", "agent/referrals/" + encodeURIComponent(row.referral_id) + "/" + verb);
      await loadReferrals();
      if (verb === "accept") {
        const c = result.consumer;
        notice("Accepted. Please call " + c.first_name + " " + c.last_name + " now at " + c.phone + ".");
      } else {
        notice("Rejected. The consumer goes at once to the next available agent.", "info");
      }
    } catch (error) {
      await loadReferrals();
      notice(explain(error), "error");
    }
  }

  function renderReferrals() {
    const zone = $("f-zone").value || browserZone;
    // pending offers first (they wait for an answer), each group newest first as the API gives them
    const shown = filtered().sort((a, b) => (b.status === "pending") - (a.status === "pending"));
    $("ref-count").textContent = shown.length + " of " + rows.length + " referrals (last 90 days)";
    const body = $("ref-table").querySelector("tbody");
    body.replaceChildren(...shown.map((row) => {
      const c = row.consumer;
      const speaks = languageName(row.language);
      const place = row.place.city + ", " + row.place.county + ", " + row.place.state + " · " + speaks;
      const name = c ? c.first_name + " " + c.last_name
        : row.status === "missed" ? "Missed Referral" : row.status === "pending" ? "Shown once you accept" : "—";
      const contact = c
        ? el("td", { "data-label": "Contact Information" }, el("a", { href: "tel:" + c.phone }, usPhone(c.phone)),
          c.email ? el("br") : null, c.email ? el("a", { href: "mailto:" + c.email }, c.email) : null)
        : el("td", { "data-label": "Contact Information", text: row.status === "missed" ? "—" : place });
      return el("tr", { "data-referral": row.referral_id },
        el("td", { "data-label": "Name" }, name, c ? el("br") : null, c ? el("span", { class: "small muted", text: place }) : null),
        contact,
        el("td", { "data-label": "Referral Assigned", text: when(row.assigned_at, zone) }),
        deadlineCell(row, zone),
        statusCell(row));
    }));
    if (!shown.length) body.append(el("tr", {}, el("td", { colspan: "5", text: rows.length ? "No referral matches this search." : "No referrals yet." })));
  }

  // An accepted referral's deadline is R12's: call within 15 minutes of accepting, never more than 30.
  const CALL_WITHIN_MS = 15 * 60 * 1000;
  const ANSWERED = ["accepted", "in_progress", "not_a_good_referral", "completed"];

  function deadlineCell(row, zone) {
    if (ANSWERED.includes(row.status) && row.answered_at) {
      const by = new Date(new Date(row.answered_at).getTime() + CALL_WITHIN_MS).toISOString();
      const text = (row.status === "accepted" ? "Call by " : "Contact by ") + when(by, zone);
      return el("td", { "data-label": "Contact By", text });
    }
    return el("td", { "data-label": "Referral Expires", text: row.expires_at ? when(row.expires_at, zone) : "—" });
  }

  function languageName(code) {
    const label = DATA.languages[code] || code;
    const english = label.match(/\(([^)]+)\)$/);
    return english ? english[1] : label; // "Español (Spanish)" → "Spanish": the portal speaks English
  }

  function usPhone(phone) {
    const digits = String(phone).replace(/\D/g, "").replace(/^1(?=\d{10}$)/, "");
    return digits.length === 10 ? "(" + digits.slice(0, 3) + ") " + digits.slice(3, 6) + "-" + digits.slice(6) : phone;
  }

  for (const id of ["f-status", "f-first", "f-last", "f-from", "f-to", "f-zone"]) $(id).addEventListener("input", renderReferrals);

  function tick() {
    for (const node of document.querySelectorAll("[data-deadline]")) {
      node.textContent = timeLeft(node.dataset.deadline);
      if (new Date(node.dataset.deadline) <= new Date() && !node.dataset.done) {
        node.dataset.done = "1";
        loadReferrals();
      }
    }
  }

  // ----- Availability ----------------------------------------------------------------------------------------
  async function loadAvailability() {
    const seq = ++latest.availability;
    try {
      const answer = await api("GET", "agent/availability");
      if (seq !== latest.availability) return;
      availability = answer;
      renderAvailability();
    } catch (error) {
      if (error.status !== 401) notice(explain(error), "error");
    }
  }

  function renderAvailability() {
    const a = availability.availability;
    $("av-now").textContent = (availability.available_now ? "You are receiving referrals now." : "You are not receiving referrals now.")
      + (availability.next_change ? " This changes " + when(availability.next_change, a.time_zone) + "." : "");
    zoneOptions($("av-zone"), a.time_zone);
    $("zone-hint").textContent = a.time_zone !== browserZone
      ? " Your hours are kept in " + a.time_zone + "; this device is in " + browserZone + "." : " Detected from this device.";
    const today = a.today;
    $("today-on").checked = today ? today.available : availability.available_now;
    $("today-stop").value = today && today.stop_at && today.stop_at !== "24:00" ? today.stop_at : "";
    $("ooo-start").value = a.out_of_office ? localInput(a.out_of_office.start) : "";
    $("ooo-end").value = a.out_of_office && a.out_of_office.end ? localInput(a.out_of_office.end) : "";
    $("week").replaceChildren(...DAYS.map((day) => dayEditor(day, a.weekly.days[day])));
  }

  function localInput(iso) {
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function dayEditor(day, hours) {
    const toggle = el("input", { type: "checkbox", id: "day-" + day, role: "switch", checked: hours.enabled });
    const start = el("input", { type: "time", id: "start-" + day, value: hours.start, "aria-label": DAY_NAMES[day] + " start" });
    const end = el("input", { type: "time", id: "end-" + day, value: hours.end === "24:00" ? "23:59" : hours.end, "aria-label": DAY_NAMES[day] + " end" });
    const breaks = el("div", { class: "breaks" });
    const addBreak = (value) => {
      const bs = el("input", { type: "time", value: value ? value.start : "12:00", "aria-label": DAY_NAMES[day] + " break start", class: "break-start" });
      const be = el("input", { type: "time", value: value ? value.end : "13:00", "aria-label": DAY_NAMES[day] + " break end", class: "break-end" });
      const line = el("div", { class: "times" }, "Break", bs, "to", be);
      line.append(el("button", { type: "button", class: "link", onclick: () => line.remove() }, "Remove break"));
      breaks.append(line);
    };
    for (const b of hours.breaks) addBreak(b);
    return el("div", { class: "day", "data-day": day },
      el("label", { for: "day-" + day }, toggle, DAY_NAMES[day]),
      el("div", { class: "times" }, start, "to", end),
      breaks,
      el("button", { type: "button", class: "link", onclick: () => addBreak(null) }, "Add a break on " + DAY_NAMES[day]));
  }

  function weekFromEditors() {
    const days = {};
    for (const day of DAYS) {
      const box = document.querySelector('[data-day="' + day + '"]');
      const endValue = $("end-" + day).value;
      days[day] = {
        enabled: $("day-" + day).checked,
        start: $("start-" + day).value || "08:00",
        end: endValue === "23:59" ? "24:00" : endValue || "17:00",
        breaks: Array.from(box.querySelectorAll(".breaks .times")).map((line) => ({
          start: line.querySelector(".break-start").value, end: line.querySelector(".break-end").value,
        })),
      };
    }
    return { days };
  }

  async function saveAvailability(method, path, body, message, where) {
    const seq = ++latest.availability;
    clearProblems();
    try {
      const answer = await api(method, path, body);
      if (seq === latest.availability) {
        availability = answer;
        renderAvailability();
      }
      notice(message);
    } catch (error) {
      showProblems(error, where || {});
    }
  }

  $("week-save").addEventListener("click", () =>
    saveAvailability("PUT", "agent/availability", { weekly: weekFromEditors(), time_zone: $("av-zone").value }, "Weekly hours saved."));
  $("today-save").addEventListener("click", () => {
    const on = $("today-on").checked;
    const body = { available: on };
    if (on && $("today-stop").value) body.stop_at = $("today-stop").value;
    saveAvailability("PUT", "agent/availability/today", body,
      on ? "Today's Availability is On" + (body.stop_at ? " until " + body.stop_at : "") + "." : "Today's Availability is Off: no referrals until tomorrow.",
      { stop_at: "today-stop" });
  });
  $("today-clear").addEventListener("click", () =>
    saveAvailability("DELETE", "agent/availability/today", undefined, "Today follows your standard hours again."));
  $("ooo-save").addEventListener("click", () => {
    if (!$("ooo-start").value) return notice("Choose when Out of Office starts.", "error");
    const body = { start: new Date($("ooo-start").value).toISOString(), end: $("ooo-end").value ? new Date($("ooo-end").value).toISOString() : null };
    saveAvailability("PUT", "agent/availability/out-of-office", body, "Out of Office is set.",
      { body: "ooo-end", end: "ooo-end", start: "ooo-start" });
  });
  $("ooo-clear").addEventListener("click", () =>
    saveAvailability("DELETE", "agent/availability/out-of-office", undefined, "Out of Office is off."));

  // ----- Profile ---------------------------------------------------------------------------------------------
  async function loadProfile() {
    profile = await api("GET", "agent/profile");
    $("who").textContent = profile.first_name + " " + profile.last_name + " · NPN " + profile.npn;
    $("who").classList.remove("hidden");
    const alert = $("alert");
    alert.classList.toggle("hidden", !profile.alert);
    alert.textContent = profile.alert || "";
    const suspended = $("suspended");
    suspended.classList.toggle("hidden", !profile.suspended);
    suspended.textContent = profile.suspended
      ? "Your account is suspended: you receive no referrals until the program reactivates it. Contact your program administrator." : "";
  }

  function renderProfile() {
    if (!profile) return;
    const p = profile;
    const address = p.business_address;
    $("contact-card").replaceChildren(
      el("h2", { text: p.first_name + " " + p.last_name }),
      el("p", {}, "E-mail: " + p.email, el("br"), "Phone: " + p.phone, el("br"),
        "Business address: " + [address.street, address.city, address.state, address.zip].filter(Boolean).join(", ")),
      el("p", { class: "small muted", text: "These details come from your licensing record; ask your program administrator to change them." }));
    $("p-mobile").value = p.mobile_phone || "";
    $("p-methods").replaceChildren(...Object.entries(METHODS).map(([value, label]) =>
      el("label", {}, el("input", { type: "radio", name: "method", value, checked: p.contact_method === value }), label)));
    reachWarning();
    $("p-languages").replaceChildren(...Object.entries(DATA.languages).map(([code, label]) =>
      el("label", { class: "shrink" }, el("input", { type: "checkbox", name: "language", value: code, checked: p.languages.includes(code) }), label)));
    const chosen = p.state_preferences || p.eligible_states;
    $("p-states").replaceChildren(...p.eligible_states.map((state) =>
      el("label", { class: "shrink" }, el("input", { type: "checkbox", name: "state", value: state, checked: chosen.includes(state) }), state)));
    if (!p.eligible_states.length) $("p-states").append(el("p", { text: "You are not eligible in any state yet." }));
    $("p-not-eligible").textContent = p.not_eligible.length ? "Not eligible: " + p.not_eligible.join("; ") : "";
  }

  // Whether the chosen contact method can reach the agent: app notifications need a registered phone, texts a
  // mobile number. Said next to the choice, as soon as it is made.
  function reachWarning() {
    const method = (document.querySelector('input[name="method"]:checked') || {}).value || "";
    const problems = [];
    if (method.includes("app") && !(profile.devices || []).length) {
      problems.push("No phone is registered for app notifications, so they reach no one: offers still come by e-mail" +
        (method.includes("text") ? " and text." : "."));
    }
    if (method.includes("text") && !$("p-mobile").value.trim() && !profile.mobile_phone) {
      problems.push("Texts go to your listed phone (" + usPhone(profile.phone) + "). If it cannot take texts, add a mobile number above.");
    }
    $("p-reach").textContent = problems.join(" ");
    $("p-reach").classList.toggle("hidden", !problems.length);
  }

  $("p-methods").addEventListener("change", reachWarning);
  $("p-mobile").addEventListener("input", reachWarning);

  $("profile-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("profile-error");
    error.classList.add("hidden");
    clearProblems();
    const checked = (name) => Array.from(document.querySelectorAll('input[name="' + name + '"]:checked')).map((i) => i.value);
    const body = { languages: checked("language"), contact_method: (document.querySelector('input[name="method"]:checked') || {}).value };
    const states = checked("state");
    if (states.length === profile.eligible_states.length) body.reset_state_preferences = true;
    else body.state_preferences = states;
    if ($("p-mobile").value.trim()) body.mobile_phone = $("p-mobile").value.trim();
    if (!body.languages.length) { error.textContent = "Choose at least one language."; error.classList.remove("hidden"); return; }
    if (!states.length) { error.textContent = "Keep at least one state, or ask to be suspended."; error.classList.remove("hidden"); return; }
    try {
      profile = await api("PUT", "agent/profile", body);
      renderProfile();
      notice("Profile saved.");
    } catch (failure) {
      showProblems(failure, { mobile_phone: "p-mobile" });
    }
  });

  // ----- Metrics ---------------------------------------------------------------------------------------------
  let metricRows = [];

  async function loadMetrics() {
    try {
      const answer = await api("GET", "agent/referrals?days=" + $("m-days").value);
      renderMetrics(answer.referrals);
    } catch (error) {
      if (error.status !== 401) notice(explain(error), "error");
    }
  }

  function median(values) {
    if (!values.length) return null;
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }

  function minutes(seconds) {
    if (seconds === null) return "—";
    return seconds < 90 ? Math.round(seconds) + " s" : (seconds / 60).toFixed(1) + " min";
  }

  function renderMetrics(list) {
    const counts = {};
    for (const key of Object.keys(STATUS_LABELS)) counts[key] = 0;
    const outcomes = {};
    for (const key of Object.keys(OUTCOMES)) outcomes[key] = 0;
    const responses = [];
    for (const row of list) {
      counts[row.status] = (counts[row.status] || 0) + 1;
      if (row.status === "completed" && row.outcome) outcomes[row.outcome] += 1;
      if (row.answered_at && ["accepted", "in_progress", "not_a_good_referral", "completed", "rejected"].includes(row.status)) {
        responses.push((new Date(row.answered_at) - new Date(row.assigned_at)) / 1000);
      }
    }
    const taken = counts.accepted + counts.in_progress + counts.not_a_good_referral + counts.completed;
    const direct = list.filter((row) => row.kind === "direct").length;
    const acceptRate = direct ? Math.round((100 * list.filter((r) => r.kind === "direct" && r.consumer).length) / direct) + "%" : "—";
    metricRows = [
      ["Referrals offered", list.length],
      ["Accepted (all statuses after acceptance)", taken],
      ["Acceptance rate of direct offers", acceptRate],
      ...Object.keys(STATUS_LABELS).map((key) => ["Status: " + STATUS_LABELS[key], counts[key]]),
      ...Object.keys(OUTCOMES).map((key) => ["Completed: " + OUTCOMES[key], outcomes[key]]),
      ["Median response time", minutes(median(responses))],
      ["Fastest response time", minutes(responses.length ? Math.min(...responses) : null)],
      ["Missed in the last 7 days", profile ? profile.missed_in_last_7_days : "—"],
    ];
    $("m-stats").replaceChildren(
      el("div", { class: "stat" }, el("b", { text: String(list.length) }), "offered"),
      el("div", { class: "stat" }, el("b", { text: String(taken) }), "accepted"),
      el("div", { class: "stat" }, el("b", { text: String(counts.missed) }), "missed"),
      el("div", { class: "stat" }, el("b", { text: minutes(median(responses)) }), "median response"));
    const biggest = Math.max(1, ...Object.values(counts));
    const chart = $("m-chart");
    chart.setAttribute("aria-label", Object.keys(STATUS_LABELS).map((k) => STATUS_LABELS[k] + " " + counts[k]).join(", "));
    chart.replaceChildren(...Object.keys(STATUS_LABELS).map((key) =>
      el("div", { class: "bar-row", "aria-hidden": "true" }, el("span", { text: STATUS_LABELS[key] }),
        el("div", { class: "bar", style: "width:" + (100 * counts[key]) / biggest + "%" }), el("span", { text: String(counts[key]) }))));
    $("m-table").querySelector("tbody").replaceChildren(...metricRows.map(([measure, value]) =>
      el("tr", {}, el("td", { text: measure }), el("td", { text: String(value) }))));
  }

  $("m-days").addEventListener("change", loadMetrics);
  $("m-export").addEventListener("click", async () => { // the server's file: the period's referrals, then the totals
    const response = await fetch("agent/referrals?format=csv&days=" + $("m-days").value, { headers: { Authorization: "Bearer " + session.token } });
    if (!response.ok) return notice(explain(new ApiError(response.status, await response.json().catch(() => null))), "error");
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: "help-on-demand-referrals-" + $("m-days").value + "-days.csv" });
    document.body.append(link);
    link.click();
    link.remove();
  });

  // ----- start -----------------------------------------------------------------------------------------------
  async function start() {
    const match = location.hash.match(/^#t=(.+)$/);
    if (match) {
      session = null;
      if (!(await exchange(decodeURIComponent(match[1])))) return;
    }
    session = session || loadSession();
    seenPending = null; // a new sign-in announces only offers that arrive after it
    if (!session) return showSignIn();
    $("signin").classList.add("hidden");
    $("app").classList.remove("hidden");
    $("sign-out").classList.remove("hidden");
    $("filter-box").open = !window.matchMedia("(max-width: 40rem)").matches; // folded on a phone
    zoneOptions($("f-zone"), browserZone);
    try {
      await loadProfile();
    } catch (error) {
      if (error.status !== 401) notice(explain(error), "error");
      return;
    }
    showTab(location.hash.slice(1) || "referrals");
    if (ticker) clearInterval(ticker);
    ticker = setInterval(tick, 1000);
    schedulePoll(POLL_S);
  }

  start();
})();
