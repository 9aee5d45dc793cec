// The agent portal: sign-in by e-mailed link, then Manage Referrals, Availability, Profile and Metrics.
// Talks to the agent API with the session token the sign-in link was exchanged for (kept in this browser for
// the session's lifetime). No framework: the DOM is built with createElement, never from HTML strings.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("data").textContent);
  const SESSION_KEY = "hod.agent.session";
  const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  // Every word the page shows comes from its catalogue (hod/web/portal.json), in the page's language
  const T = DATA.text;
  const LOCALE = DATA.locale;
  function t(key, values) {
    return T[key].replace(/\{(\w+)\}/g, (_, name) => String(values[name]));
  }
  const labels = (prefix, keys) => Object.fromEntries(keys.map((key) => [key, T[prefix + key]]));
  const DAY_NAMES = labels("day_", DAYS);
  const STATUS_LABELS = labels("s_", ["pending", "accepted", "in_progress", "not_a_good_referral", "completed", "missed", "rejected", "taken"]);
  const REASONS = labels("r_", ["wrong_contact_details", "already_has_broker", "unreachable_after_three_attempts"]);
  const OUTCOMES = labels("o_", ["selected_marketplace_qhp", "referred_to_medicaid", "referred_to_navigator_assister", "other"]);
  const METHODS = labels("c_", ["email_text_app", "email_text", "email_app", "email_only"]);
  const US_ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
    "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico"];
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "America/New_York";

  const $ = (id) => document.getElementById(id);
  let session = null;
  let profile = null;
  let rows = [];
  let availability = null;
  let ticker = null;
  let wanted = null; // a referral the page was opened at (#referral=ID&status=…, from an offer page's buttons)
  const NOTICE_KEY = "hod.agent.notice";

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
  // A refusal as the service names it: its status, its stable `reason` and each field's problem (`problems`); its
  // `message` is the service's English for developers, never shown.
  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || "HTTP " + status);
      this.status = status;
      this.reason = (body && body.reason) || null;
      this.fields = (body && body.fields) || {};
      this.problems = (body && body.problems) || {};
    }
  }

  async function api(method, path, body) {
    const headers = {};
    if (session) headers.Authorization = "Bearer " + session.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const answer = await response.json().catch(() => null);
    if (response.status === 401 && session) {
      signOut(answer && answer.reason === "token_expired" ? T.session_ended : T.session_not_valid);
      throw new ApiError(401, answer);
    }
    if (!response.ok) throw new ApiError(response.status, answer);
    return answer;
  }

  // Refusals in the page's language. The service names each refusal by a stable key (`reason`) and each field
  // problem by another (`problems`); the catalogue words them (e_<reason>, f_<problem>) saying what to do. A key the
  // catalogue does not know reads as its status's sentence (status_<code>), a field's as f_invalid: never the
  // service's English, never a blank. (Anything thrown without a status, such as a lost connection: status_other.)
  function explain(error) {
    const names = Object.keys(error.fields || {});
    if (names.length) return names.map((name) => plain(error, name)).join(" ");
    return T["e_" + error.reason] || T["status_" + error.status] || T.status_other;
  }

  function plain(error, name) {
    return T["f_" + (error.problems || {})[name]] || T.f_invalid;
  }

  function clearProblems() {
    for (const note of document.querySelectorAll("[data-problem-for]")) {
      for (const input of document.querySelectorAll('[aria-describedby="' + note.id + '"]')) {
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      }
      note.remove();
    }
  }

  // Each field problem beside the element `where` names for it (the API's field name → an element's id; a function
  // for names that carry an index), the element's inputs marked invalid; the rest summed up at the top.
  function showProblems(error, where) {
    clearProblems();
    const unplaced = [];
    let placed = 0;
    for (const name of Object.keys(error.fields || {})) {
      const id = typeof where === "function" ? where(name) : where[name] || where[name.split(".")[0]];
      const target = id ? $(id) : null;
      if (!target) { unplaced.push(plain(error, name)); continue; }
      const shown = $(target.id + "-problem"); // a second problem of the same field: said in the same note
      if (shown) { shown.textContent += " " + plain(error, name); continue; }
      const note = el("p", { class: "field-error", id: target.id + "-problem", "data-problem-for": target.id, text: plain(error, name) });
      const inputs = target.matches("input, select, textarea") ? [target] : target.querySelectorAll("input, select");
      for (const input of inputs) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", note.id);
      }
      target.insertAdjacentElement("afterend", note);
      placed += 1;
    }
    const summary = placed ? [T.check_field, ...unplaced] : unplaced;
    notice(summary.length ? summary.join(" ") : explain(error), "error");
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
      // (a token the service cannot even read is refused as a bad field: to the agent, a link that is not valid)
      notice(error.status === 400 ? T.e_token_not_valid : explain(error), "error");
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
      error.textContent = T.signin_bad_email;
      error.classList.remove("hidden");
      input.focus();
      return;
    }
    try {
      await api("POST", "sign-in", { email: input.value.trim() });
      notice(T.signin_sent, "success");
    } catch (failure) {
      if (failure.fields && failure.fields.email) {
        input.setAttribute("aria-invalid", "true");
        error.textContent = plain(failure, "email");
        error.classList.remove("hidden");
      }
      notice(explain(failure), "error");
    }
  });

  $("sign-out").addEventListener("click", () => signOut(T.signed_out));

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
    else if (session) showTab(openedAt(location.hash) ? "referrals" : location.hash.slice(1));
  });

  // ----- language ------------------------------------------------------------------------------------------
  // Before sign-in the page is in the language of ?lang= or the browser; once signed in, in the one the agent chose
  // in Profile. When they differ the page is fetched again in the chosen one (the session stays in this browser);
  // `said`, a catalogue key, is shown once it is back.
  function followLanguage(said) {
    const chosen = profile && profile.page_language;
    if (!chosen || chosen === DATA.lang) return false;
    if (said) sessionStorage.setItem(NOTICE_KEY, said);
    const query = new URLSearchParams(location.search);
    query.set("lang", chosen);
    location.replace(location.pathname + "?" + query.toString() + location.hash);
    return true;
  }

  function pendingNotice() {
    const said = sessionStorage.getItem(NOTICE_KEY);
    sessionStorage.removeItem(NOTICE_KEY);
    if (said && T[said]) notice(T[said]);
  }

  function openedAt(hash) {
    const match = hash.match(/^#referral=([^&]+)(?:&status=(\w+))?$/);
    if (!match) return false;
    wanted = { referral: decodeURIComponent(match[1]), status: match[2] || "" };
    return true;
  }

  // ----- formatting ------------------------------------------------------------------------------------------
  function zoneOptions(select, selected) {
    const zones = Array.from(new Set([browserZone, ...US_ZONES, selected].filter(Boolean)));
    select.replaceChildren(...zones.map((zone) => el("option", { value: zone, selected: zone === selected }, zoneName(zone))));
  }

  // A time zone as people name it, in the page's language: "Central Time (Chicago)", not "America/Chicago"
  function zoneName(zone) {
    const city = zone.split("/").pop().replace(/_/g, " ");
    try {
      const parts = new Intl.DateTimeFormat(LOCALE, { timeZone: zone, timeZoneName: "longGeneric" }).formatToParts(new Date());
      const name = (parts.find((p) => p.type === "timeZoneName") || {}).value;
      return name ? name.charAt(0).toUpperCase() + name.slice(1) + " (" + city + ")" : city;
    } catch (error) {
      return city;
    }
  }

  // A time of day ("18:30") as the page's language writes it: "6:30 PM", "6:30 p. m."
  function clockTime(hhmm) {
    const [hours, minutes] = hhmm.split(":").map(Number);
    return new Intl.DateTimeFormat(LOCALE, { hour: "numeric", minute: "2-digit", timeZone: "UTC" })
      .format(new Date(Date.UTC(2000, 0, 1, hours, minutes)));
  }

  function when(iso, zone) {
    if (!iso) return "—";
    return new Intl.DateTimeFormat(LOCALE, {
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
    return t("left", { m: Math.floor(seconds / 60), s: String(seconds % 60).padStart(2, "0") });
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
    const by = row.expires_at ? t("answer_by", { time: when(row.expires_at, zone) }) : T.first_gets;
    const box = $("new-offer");
    box.textContent = (fresh.length > 1 ? t("new_offers", { n: fresh.length })
      : t("new_offer", { place: row.place.city + ", " + row.place.state })) + " " + by;
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
    const cell = el("td", { "data-label": T.col_status });
    const label = row.status === "missed" ? T.expired : STATUS_LABELS[row.status] || row.status;
    cell.append(el("span", { class: "badge " + row.status, text: label }));
    if (row.status === "pending") {
      if (row.expires_at) cell.append(el("p", { class: "small", "data-deadline": row.expires_at, text: timeLeft(row.expires_at) }));
      else cell.append(el("p", { class: "small", text: T.safety_net_row }));
      cell.append(
        el("div", { class: "row" },
          el("button", { type: "button", class: "accept shrink", onclick: () => answer(row, "accept") }, T.accept),
          el("button", { type: "button", class: "reject shrink", onclick: () => answer(row, "reject") }, T.reject)),
      );
    }
    if (row.status === "not_a_good_referral" && row.not_good_reason) cell.append(el("p", { class: "small", text: REASONS[row.not_good_reason] }));
    if (row.status === "completed" && row.outcome) cell.append(el("p", { class: "small", text: OUTCOMES[row.outcome] }));
    if (row.status === "accepted" || row.status === "in_progress") cell.append(statusForm(row));
    return cell;
  }

  function statusForm(row) {
    const id = row.referral_id;
    const choice = el("select", { id: "s-" + id, "aria-label": T.new_status },
      el("option", { value: "" }, T.update_status),
      row.status === "accepted" ? el("option", { value: "in_progress" }, STATUS_LABELS.in_progress) : null,
      el("option", { value: "not_a_good_referral" }, STATUS_LABELS.not_a_good_referral),
      el("option", { value: "completed" }, STATUS_LABELS.completed));
    const detail = el("select", { id: "d-" + id, "aria-label": T.reason_outcome, class: "hidden" });
    const showDetail = () => {
      const options = choice.value === "completed" ? OUTCOMES : choice.value === "not_a_good_referral" ? REASONS : null;
      detail.classList.toggle("hidden", !options);
      detail.replaceChildren(...Object.entries(options || {}).map(([value, label]) => el("option", { value }, label)));
    };
    choice.addEventListener("change", showDetail);
    if (wanted && wanted.referral === id && choice.querySelector('option[value="' + wanted.status + '"]')) {
      choice.value = wanted.status; // opened from the offer page's status buttons
      showDetail();
    }
    const save = el("button", { type: "button", class: "shrink" }, T.save_status);
    save.addEventListener("click", async () => {
      if (!choice.value) return notice(T.choose_status, "error");
      const body = { status: choice.value };
      if (choice.value === "completed") body.outcome = detail.value;
      if (choice.value === "not_a_good_referral") body.reason = detail.value;
      try {
        await api("POST", "agent/referrals/" + encodeURIComponent(id) + "/status", body);
        await loadReferrals();
        wanted = null;
        notice(t("status_saved", { status: STATUS_LABELS[body.status] }));
      } catch (error) {
        if (error.status === 400) return showProblems(error, { status: choice.id, reason: detail.id, outcome: detail.id });
        // the referral moved on, or is not this agent's to update: the list shows it as it is now
        if ([403, 404, 409].includes(error.status)) await loadReferrals();
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
        notice(t("accepted_call", { name: c.first_name + " " + c.last_name, phone: usPhone(c.phone) }));
      } else {
        notice(T.rejected_note, "info");
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
    $("ref-count").textContent = t("count", { shown: shown.length, total: rows.length });
    const body = $("ref-table").querySelector("tbody");
    body.replaceChildren(...shown.map((row) => {
      const c = row.consumer;
      const speaks = languageName(row.language);
      const place = row.place.city + ", " + countyName(row.place.county) + ", " + row.place.state + " · " + speaks;
      const name = c ? c.first_name + " " + c.last_name
        : row.status === "missed" ? STATUS_LABELS.missed : row.status === "pending" ? T.shown_once : "—";
      const contact = c
        ? el("td", { "data-label": T.col_contact }, el("a", { href: "tel:" + c.phone }, usPhone(c.phone)),
          c.email ? el("br") : null, c.email ? el("a", { href: "mailto:" + c.email }, c.email) : null)
        : el("td", { "data-label": T.col_contact, text: row.status === "missed" ? "—" : place });
      return el("tr", { "data-referral": row.referral_id },
        el("td", { "data-label": T.col_name }, name, c ? el("br") : null, c ? el("span", { class: "small muted", text: place }) : null),
        contact,
        el("td", { "data-label": T.col_assigned, text: when(row.assigned_at, zone) }),
        deadlineCell(row, zone),
        statusCell(row));
    }));
    const opened = wanted && body.querySelector('tr[data-referral="' + CSS.escape(wanted.referral) + '"]');
    if (opened && !wanted.shown) {
      wanted.shown = true;
      opened.scrollIntoView({ block: "center" });
      (opened.querySelector("select") || opened).focus();
    }
    if (!shown.length) body.append(el("tr", {}, el("td", { colspan: "5", text: rows.length ? T.no_match : T.no_referrals })));
  }

  // An accepted referral's deadline is R12's: call within 15 minutes of accepting, never more than 30.
  const CALL_WITHIN_MS = 15 * 60 * 1000;
  const ANSWERED = ["accepted", "in_progress", "not_a_good_referral", "completed"];

  function deadlineCell(row, zone) {
    if (ANSWERED.includes(row.status) && row.answered_at) {
      const by = new Date(new Date(row.answered_at).getTime() + CALL_WITHIN_MS).toISOString();
      const text = t(row.status === "accepted" ? "call_by" : "contact_by", { time: when(by, zone) });
      return el("td", { "data-label": T.col_contact_by, text });
    }
    return el("td", { "data-label": T.col_expires, text: row.expires_at ? when(row.expires_at, zone) : "—" });
  }

  // "Travis County"; on a Spanish page "condado de Travis"
  function countyName(county) {
    for (const [kind, word] of Object.entries(DATA.county_kinds).sort((a, b) => b[0].length - a[0].length)) {
      if (county.endsWith(" " + kind)) return word + " de " + county.slice(0, -kind.length - 1);
    }
    return county;
  }

  function languageName(code) {
    return DATA.names[code] || code; // in the page's language: "Spanish", "Español"
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
    $("av-now").textContent = (availability.available_now ? T.av_on : T.av_off)
      + (availability.next_change ? " " + t("av_changes", { time: when(availability.next_change, a.time_zone) }) : "");
    zoneOptions($("av-zone"), a.time_zone);
    $("zone-hint").textContent = a.time_zone !== browserZone
      ? " " + t("zone_kept", { zone: zoneName(a.time_zone), device: zoneName(browserZone) }) : " " + T.zone_detected;
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
    const start = el("input", { type: "time", id: "start-" + day, value: hours.start, "aria-label": t("day_start", { day: DAY_NAMES[day] }) });
    const end = el("input", { type: "time", id: "end-" + day, value: hours.end === "24:00" ? "23:59" : hours.end, "aria-label": t("day_end", { day: DAY_NAMES[day] }) });
    const breaks = el("div", { class: "breaks" });
    const addBreak = (value) => {
      const bs = el("input", { type: "time", value: value ? value.start : "12:00", "aria-label": t("break_start", { day: DAY_NAMES[day] }), class: "break-start" });
      const be = el("input", { type: "time", value: value ? value.end : "13:00", "aria-label": t("break_end", { day: DAY_NAMES[day] }), class: "break-end" });
      const line = el("div", { class: "times" }, T.break_word, bs, T.to, be);
      line.append(el("button", { type: "button", class: "link", onclick: () => line.remove() }, T.remove_break));
      breaks.append(line);
    };
    for (const b of hours.breaks) addBreak(b);
    return el("div", { class: "day", "data-day": day },
      el("label", { for: "day-" + day }, toggle, DAY_NAMES[day]),
      el("div", { class: "times" }, start, T.to, end),
      breaks,
      el("button", { type: "button", class: "link", onclick: () => addBreak(null) }, t("add_break", { day: DAY_NAMES[day] })));
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
    saveAvailability("PUT", "agent/availability", { weekly: weekFromEditors(), time_zone: $("av-zone").value }, T.week_saved,
      weekField));

  // Where a weekly-hours problem is shown: "weekly.days.mon.start" beside Monday's start, a day's own problem (its
  // end before its start, a break outside its hours) beside its end, "weekly.days.mon.breaks.1.end" beside that
  // break's end, breaks that overlap beside the first break's start.
  let breakInputs = 0;
  function weekField(name) {
    if (name === "time_zone") return "av-zone";
    const match = name.match(/^weekly\.days\.(\w+)(?:\.(start|end|breaks)(?:\.(\d+)(?:\.(start|end))?)?)?$/);
    if (!match || !DAYS.includes(match[1])) return null;
    const [, day, part, index, side] = match;
    if (part !== "breaks") return (part || "end") + "-" + day;
    const line = document.querySelectorAll('[data-day="' + day + '"] .breaks .times')[Number(index || 0)];
    const input = line && line.querySelector(side === "end" || (index !== undefined && !side) ? ".break-end" : ".break-start");
    if (!input) return null;
    input.id = input.id || "break-input-" + ++breakInputs;
    return input.id;
  }
  $("today-save").addEventListener("click", () => {
    const on = $("today-on").checked;
    const body = { available: on };
    if (on && $("today-stop").value) body.stop_at = $("today-stop").value;
    saveAvailability("PUT", "agent/availability/today", body,
      on ? (body.stop_at ? t("today_on_until", { time: clockTime(body.stop_at) }) : T.today_on_saved) : T.today_off_saved,
      { stop_at: "today-stop" });
  });
  $("today-clear").addEventListener("click", () =>
    saveAvailability("DELETE", "agent/availability/today", undefined, T.today_cleared));
  $("ooo-save").addEventListener("click", () => {
    if (!$("ooo-start").value) return notice(T.ooo_need_start, "error");
    const body = { start: new Date($("ooo-start").value).toISOString(), end: $("ooo-end").value ? new Date($("ooo-end").value).toISOString() : null };
    saveAvailability("PUT", "agent/availability/out-of-office", body, T.ooo_set,
      { body: "ooo-end", end: "ooo-end", start: "ooo-start" });
  });
  $("ooo-clear").addEventListener("click", () =>
    saveAvailability("DELETE", "agent/availability/out-of-office", undefined, T.ooo_off));

  // ----- Profile ---------------------------------------------------------------------------------------------
  async function loadProfile() {
    profile = await api("GET", "agent/profile");
    $("who").textContent = t("who", { name: profile.first_name + " " + profile.last_name, npn: profile.npn });
    $("who").classList.remove("hidden");
    const alert = $("alert");
    alert.classList.toggle("hidden", !profile.alert);
    const missed = profile.missed_in_last_7_days;
    alert.textContent = profile.alert ? t(missed === 1 ? "alert_one" : "alert_many", { n: missed }) : "";
    const suspended = $("suspended");
    suspended.classList.toggle("hidden", !profile.suspended);
    suspended.textContent = profile.suspended
      ? T.suspended : "";
  }

  function renderProfile() {
    if (!profile) return;
    const p = profile;
    const address = p.business_address;
    $("contact-card").replaceChildren(
      el("h2", { text: p.first_name + " " + p.last_name }),
      el("p", {}, t("p_email", { value: p.email }), el("br"), t("p_phone", { value: usPhone(p.phone) }), el("br"),
        t("p_address", { value: [address.street, address.city, address.state, address.zip].filter(Boolean).join(", ") })),
      el("p", { class: "small muted", text: T.p_record_note }));
    $("p-page-language").value = p.page_language || DATA.lang;
    $("p-mobile").value = p.mobile_phone || "";
    $("p-methods").replaceChildren(...Object.entries(METHODS).map(([value, label]) =>
      el("label", {}, el("input", { type: "radio", name: "method", value, checked: p.contact_method === value }), label)));
    reachWarning();
    $("p-languages").replaceChildren(...Object.entries(DATA.languages).map(([code, label]) =>
      el("label", { class: "shrink" }, el("input", { type: "checkbox", name: "language", value: code, checked: p.languages.includes(code) }), label)));
    const chosen = p.state_preferences || p.eligible_states;
    $("p-states").replaceChildren(...p.eligible_states.map((state) =>
      el("label", { class: "shrink" }, el("input", { type: "checkbox", name: "state", value: state, checked: chosen.includes(state) }), state)));
    if (!p.eligible_states.length) $("p-states").append(el("p", { text: T.p_no_states }));
    $("p-not-eligible").textContent = p.not_eligible.length ? t("p_not_eligible", { value: p.not_eligible.join("; ") }) : "";
    showPush(true);
  }

  // Whether the chosen contact method can reach the agent: app notifications need a registered phone, texts a
  // mobile number. Said next to the choice, as soon as it is made.
  function reachWarning() {
    const method = (document.querySelector('input[name="method"]:checked') || {}).value || "";
    const problems = [];
    if (method.includes("app") && !(profile.devices || []).length) {
      problems.push(method.includes("text") ? T.reach_app_text : T.reach_app);
    }
    if (method.includes("text") && !$("p-mobile").value.trim() && !profile.mobile_phone) {
      problems.push(t("reach_text", { phone: usPhone(profile.phone) }));
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
    const body = {
      languages: checked("language"), page_language: $("p-page-language").value,
      contact_method: (document.querySelector('input[name="method"]:checked') || {}).value,
    };
    const states = checked("state");
    if (states.length === profile.eligible_states.length) body.reset_state_preferences = true;
    else body.state_preferences = states;
    if ($("p-mobile").value.trim()) body.mobile_phone = $("p-mobile").value.trim();
    if (!body.languages.length) { error.textContent = T.p_need_language; error.classList.remove("hidden"); return; }
    if (!states.length) { error.textContent = T.p_need_state; error.classList.remove("hidden"); return; }
    try {
      profile = await api("PUT", "agent/profile", body);
      if (followLanguage("p_saved")) return; // the page comes back in the language just chosen
      renderProfile();
      notice(T.p_saved);
    } catch (failure) {
      showProblems(failure, {
        mobile_phone: "p-mobile", state_preferences: "p-states", languages: "p-languages",
        page_language: "p-page-language", contact_method: "p-methods",
      });
    }
  });

  // ----- App notifications on this device (Web Push) ----------------------------------------------------------
  // The service worker (sw.js, served beside this page so its scope is the portal and the offer page) shows an
  // offer pushed to this browser and opens its page when tapped. Turning notifications on asks the browser's
  // permission, subscribes with the service's public key and registers the subscription like a phone; when the key
  // has changed (rotated), opening Profile subscribes again. Only shown where the browser can take pushes.
  const WORKER = "serviceWorker" in navigator ? navigator.serviceWorker.register("sw.js").catch(() => null) : null;
  const CAN_PUSH = WORKER !== null && "PushManager" in window && "Notification" in window;

  function keyBytes(base64url) {
    const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4));
    return Uint8Array.from(text, (c) => c.charCodeAt(0));
  }

  function sameKey(subscription, key) {
    const current = subscription.options && subscription.options.applicationServerKey;
    if (!current) return false;
    const want = keyBytes(key);
    const have = new Uint8Array(current);
    return have.length === want.length && have.every((byte, i) => byte === want[i]);
  }

  async function subscription(registration) {
    return registration ? registration.pushManager.getSubscription() : null;
  }

  async function registerPush(registration, existing) {
    const key = (await api("GET", "push/key")).public_key;
    let current = existing;
    if (current && !sameKey(current, key)) { await current.unsubscribe(); current = null; }
    if (!current) current = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
    const answer = await api("PUT", "agent/devices/webpush", current.toJSON());
    profile.devices = answer.devices;
    reachWarning();
  }

  async function showPush(refresh) {
    if (!CAN_PUSH || !profile) return;
    $("push-card").classList.remove("hidden");
    const registration = await WORKER;
    let current = await subscription(registration);
    const on = Boolean(current) && Notification.permission === "granted";
    if (on && refresh) await registerPush(registration, current).catch(() => null); // a rotated key: subscribe again
    current = await subscription(registration);
    const button = $("push-switch");
    button.textContent = on ? T.push_turn_off : T.push_turn_on;
    button.dataset.on = on ? "1" : "";
    button.disabled = !registration || Notification.permission === "denied";
    $("push-state").textContent = Notification.permission === "denied" ? T.push_blocked : on && current ? T.push_on : T.push_off;
    $("push-method").textContent = T.push_method;
    $("push-method").classList.toggle("hidden", !on || profile.contact_method.includes("app"));
  }

  $("push-switch").addEventListener("click", async () => {
    const registration = await WORKER;
    try {
      if ($("push-switch").dataset.on) {
        // Unsubscribed here, the push service answers "gone" to the next push, and the service forgets this device
        const current = await subscription(registration);
        if (current) await current.unsubscribe();
        notice(T.push_undone);
      } else if ((await Notification.requestPermission()) === "granted") {
        await registerPush(registration, await subscription(registration));
        notice(T.push_done);
      }
    } catch (failure) {
      // (the browser's own failure, such as no push service, comes in the browser's words: said in the page's instead)
      notice(t("push_failed", { reason: failure instanceof ApiError ? explain(failure) : T.push_unavailable }), "error");
    }
    await showPush(false);
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
    const number = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1, minimumFractionDigits: 1 });
    return seconds < 90 ? Math.round(seconds) + " s" : number.format(seconds / 60) + " min";
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
      [T.m_offered, list.length],
      [T.m_taken, taken],
      [T.m_rate, acceptRate],
      ...Object.keys(STATUS_LABELS).map((key) => [t("m_status", { label: STATUS_LABELS[key] }), counts[key]]),
      ...Object.keys(OUTCOMES).map((key) => [t("m_outcome", { label: OUTCOMES[key] }), outcomes[key]]),
      [T.m_median, minutes(median(responses))],
      [T.m_fastest, minutes(responses.length ? Math.min(...responses) : null)],
      [T.m_missed_7, profile ? profile.missed_in_last_7_days : "—"],
    ];
    $("m-stats").replaceChildren(
      el("div", { class: "stat" }, el("b", { text: String(list.length) }), T.m_stat_offered),
      el("div", { class: "stat" }, el("b", { text: String(taken) }), T.m_stat_accepted),
      el("div", { class: "stat" }, el("b", { text: String(counts.missed) }), T.m_stat_missed),
      el("div", { class: "stat" }, el("b", { text: minutes(median(responses)) }), T.m_stat_median));
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
    if (followLanguage(null)) return;
    showTab(openedAt(location.hash) ? "referrals" : location.hash.slice(1) || "referrals");
    pendingNotice();
    if (ticker) clearInterval(ticker);
    ticker = setInterval(tick, 1000);
    schedulePoll(POLL_S);
  }

  start();
})();
