// The administrator's console: sign-in with an admin token (kept in sessionStorage), agent import in parts,
// agent search (suspend/reactivate from the result), referral look-up by confirmation code or id with its audit
// trail, suspended agents, program metrics with charts and CSV export.
// Every URL is relative (the pages are served under API Gateway's stage path). No innerHTML with data: text only.
"use strict";
(function () {
  const TOKEN_KEY = "hod-admin-token";
  const MAX_IMPORT = parseInt(document.body.dataset.maxImport, 10) || 1000;
  const MAX_ROWS_SHOWN = 2000;
  const PANELS = ["import", "agents", "referral", "today", "suspended", "metrics"];
  const $ = (id) => document.getElementById(id);
  const LANGUAGE_NAMES = JSON.parse($("language-names").textContent);
  const languageName = (code) => (LANGUAGE_NAMES[code] ? LANGUAGE_NAMES[code] + " (" + code + ")" : code);

  // ----- small helpers ---------------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function show(node, visible) {
    node.classList.toggle("hidden", !visible);
  }

  function problem(node, message) {
    if (!message) {
      node.textContent = "";
      show(node, false);
      return;
    }
    node.textContent = message;
    show(node, true);
    node.focus();
  }

  const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  function when(iso) {
    return iso ? dateTime.format(new Date(iso)) : "—";
  }

  function fieldMessages(answer) {
    const fields = (answer && answer.fields) || {};
    const parts = Object.entries(fields).map(([name, message]) => name + ": " + message);
    return parts.length ? parts.join("; ") : (answer && answer.message) || "The request was refused.";
  }

  // ----- the API ---------------------------------------------------------------------------------------------
  class SignedOut extends Error {}

  async function api(method, path, body, contentType) {
    const headers = { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) };
    if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
    let response;
    try {
      response = await fetch(path, { method, headers, body });
    } catch (error) {
      throw new Error("The service could not be reached. Check your connection and try again.");
    }
    if (response.status === 401) {
      signOut("Your administrator token was not accepted (it may have expired). Paste a new one.");
      throw new SignedOut();
    }
    return response;
  }

  async function json(response) {
    return response.json().catch(() => ({}));
  }

  // ----- signing in and out ----------------------------------------------------------------------------------
  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    show($("console"), false);
    show($("sign-out"), false);
    show($("signin"), true);
    $("token").value = "";
    if (message) problem($("signin-error"), message);
    else $("signin-title").focus();
  }

  async function signIn(token) {
    const response = await fetch("admin/agents?status=suspended&limit=1", {
      headers: { Authorization: "Bearer " + token },
    });
    return response.status === 200;
  }

  function enterConsole() {
    show($("signin"), false);
    show($("console"), true);
    show($("sign-out"), true);
    problem($("signin-error"), "");
    route(true);
    loadSuspended(false);
  }

  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (!token) return problem($("signin-error"), "Paste your administrator token first.");
    const button = $("signin-button");
    button.disabled = true;
    try {
      if (await signIn(token)) {
        sessionStorage.setItem(TOKEN_KEY, token);
        enterConsole();
      } else {
        problem($("signin-error"), "That token was not accepted: it is mistyped, not an administrator token, or " +
          "expired. Mint a new one with hod-admin token.");
      }
    } catch (error) {
      problem($("signin-error"), "The service could not be reached. Check your connection and try again.");
    } finally {
      button.disabled = false;
    }
  });

  $("sign-out").addEventListener("click", () => signOut(null));

  // ----- sections (one at a time, chosen by the address's #fragment) ------------------------------------------
  function route(quiet) {
    const wanted = location.hash.slice(1);
    const current = PANELS.includes(wanted) ? wanted : "import";
    for (const name of PANELS) show($(name), name === current);
    for (const link of document.querySelectorAll("nav.tabs a")) {
      if (link.getAttribute("href") === "#" + current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (!quiet) $(current + "-title").focus();
    if (current === "metrics" && !$("metrics-from").value) defaultDates();
    if (current === "today" && !$("today-day").value) {
      $("today-day").value = localDay(new Date());
      $("today-tz").value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    }
  }

  window.addEventListener("hashchange", () => {
    if (sessionStorage.getItem(TOKEN_KEY)) route(false);
  });

  // ----- import ----------------------------------------------------------------------------------------------
  for (const node of document.querySelectorAll(".max-import")) node.textContent = MAX_IMPORT.toLocaleString();

  // CSV records (not lines: a quoted cell may hold a line break), each kept as its original text.
  function csvRecords(text) {
    const records = [];
    let start = 0;
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === '"') quoted = !quoted;
      else if (c === "\n" && !quoted) {
        records.push(text.slice(start, i).replace(/\r$/, ""));
        start = i + 1;
      }
    }
    records.push(text.slice(start).replace(/\r$/, ""));
    return records.filter((record) => record.trim() !== "");
  }

  function importParts(name, text) {
    const isCsv = /\.csv$/i.test(name) || (!/\.json$/i.test(name) && !/^\s*[[{]/.test(text));
    const parts = [];
    if (isCsv) {
      const [header, ...rows] = csvRecords(text.replace(/^\uFEFF/, ""));
      if (!header) throw new Error("The file is empty.");
      for (let i = 0; i < rows.length; i += MAX_IMPORT) {
        const chunk = rows.slice(i, i + MAX_IMPORT);
        parts.push({ body: [header, ...chunk].join("\n") + "\n", type: "text/csv", count: chunk.length });
      }
    } else {
      let data;
      try {
        data = JSON.parse(text);
      } catch (error) {
        throw new Error("The file is not valid JSON: " + error.message);
      }
      const records = Array.isArray(data) ? data : data && Array.isArray(data.agents) ? data.agents : null;
      if (!records) throw new Error('A JSON file must hold an array of agent records, or {"agents": [...]}.');
      for (let i = 0; i < records.length; i += MAX_IMPORT) {
        const chunk = records.slice(i, i + MAX_IMPORT);
        parts.push({ body: JSON.stringify(chunk), type: "application/json", count: chunk.length });
      }
    }
    if (!parts.length) throw new Error("The file holds no agent records.");
    return parts;
  }

  let importResults = [];

  function renderImportResults() {
    const refusedOnly = $("import-filter").value === "refused";
    const rows = importResults.filter((r) => !refusedOnly || r.status === "refused");
    const body = $("import-table").tBodies[0];
    body.replaceChildren(
      ...rows.slice(0, MAX_ROWS_SHOWN).map((r) => {
        const reasons = Object.entries(r.errors || {}).map(([field, message]) => field + ": " + message);
        const notes = r.status !== "refused" ? r.not_eligible || [] : [];
        return el(
          "tr",
          { class: r.status === "refused" ? "refused" : null },
          el("td", { "data-label": "Row" }, r.row),
          el("td", { "data-label": "NPN" }, r.npn || "—"),
          el("td", { "data-label": "Outcome" }, el("span", { class: "badge " + r.status }, r.status)),
          el("td", { "data-label": "Eligible states" }, (r.eligible_states || []).join(", ") || "none"),
          el(
            "td",
            { "data-label": "Reasons" },
            reasons.length || notes.length
              ? el("ul", { class: "plain" }, ...[...reasons, ...notes].map((text) => el("li", {}, text)))
              : "—",
          ),
        );
      }),
    );
    const more = rows.length - MAX_ROWS_SHOWN;
    $("import-more").textContent =
      more > 0 ? "The first " + MAX_ROWS_SHOWN.toLocaleString() + " are shown; " + more.toLocaleString() +
        " more are not. Choose “Refused records only” to see the ones that need fixing." : "";
    show($("import-more"), more > 0);
  }

  $("import-filter").addEventListener("change", renderImportResults);

  $("import-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    problem($("import-error"), "");
    const file = $("import-file").files[0];
    if (!file) return problem($("import-error"), "Choose a CSV or JSON file of agents first.");
    let parts;
    try {
      parts = importParts(file.name, await file.text());
    } catch (error) {
      return problem($("import-error"), error.message);
    }
    const totals = { received: 0, created: 0, updated: 0, unchanged: 0, refused: 0 };
    importResults = [];
    const bar = $("import-bar");
    bar.max = parts.length;
    bar.value = 0;
    show($("import-progress"), true);
    show($("import-results"), false);
    $("import-button").disabled = true;
    let offset = 0;
    try {
      for (let i = 0; i < parts.length; i++) {
        $("import-progress-text").textContent =
          "Sending part " + (i + 1) + " of " + parts.length + " (" + parts[i].count.toLocaleString() + " records)…";
        const response = await api("POST", "admin/agents/import", parts[i].body, parts[i].type);
        const answer = await json(response);
        if (response.status !== 200) {
          const done = i ? " Parts 1–" + i + " were imported; their results are below." : " Nothing was imported.";
          problem($("import-error"), "Part " + (i + 1) + " was refused: " + fieldMessages(answer) + done);
          break;
        }
        for (const key of Object.keys(totals)) totals[key] += answer.summary[key] || 0;
        for (const result of answer.results) importResults.push({ ...result, row: offset + result.row });
        offset += answer.summary.received;
        bar.value = i + 1;
      }
      $("import-progress-text").textContent =
        "Done: " + totals.received.toLocaleString() + " records in " + bar.value + " of " + parts.length + " parts.";
    } catch (error) {
      if (!(error instanceof SignedOut)) problem($("import-error"), error.message);
      return;
    } finally {
      $("import-button").disabled = false;
    }
    if (!importResults.length) return;
    $("import-summary").replaceChildren(
      ...Object.entries(totals).map(([key, value]) => el("div", { class: "stat" }, el("b", {}, value), key)),
    );
    renderImportResults();
    show($("import-results"), true);
    $("import-summary-title").focus();
  });

  // ----- find agents ----------------------------------------------------------------------------------------
  function agentStatus(agent) {
    if (agent.suspended) {
      const since = agent.suspended_at ? " since " + when(agent.suspended_at) : "";
      return [el("span", { class: "badge refused" }, "Suspended"), el("br"),
        el("span", { class: "small" }, (agent.suspended_reason || "") + since)];
    }
    const available = agent.available_now ? "available now" : "not available now";
    return [el("span", { class: "badge created" }, "Active"), el("br"), el("span", { class: "small" }, available)];
  }

  function agentRow(agent) {
    const name = agent.first_name + " " + agent.last_name;
    const label = name + " (NPN " + agent.npn + ")";
    const action = el("td", { "data-label": "Action" });
    const eligible = agent.eligible_states.length
      ? agent.eligible_states.join(", ")
      : ["none", el("br"), el("span", { class: "small" }, agent.not_eligible.join("; "))];
    const row = el(
      "tr",
      { "data-npn": agent.npn },
      el("td", { "data-label": "Agent" }, name, el("br"), el("span", { class: "small muted" }, agent.email)),
      el("td", { "data-label": "NPN" }, agent.npn),
      el("td", { "data-label": "Eligible states" }, ...[].concat(eligible)),
      el("td", { "data-label": "Status" }, ...agentStatus(agent)),
      action,
    );
    agentActions(agent, label, action);
    return row;
  }

  function agentActions(agent, label, cell) {
    if (agent.suspended) {
      const button = el("button", { type: "button", class: "accept", "aria-label": "Reactivate " + label }, "Reactivate");
      button.addEventListener("click", () => changeAgent(agent, label, "reactivate", undefined, button));
      return cell.replaceChildren(button);
    }
    const button = el("button", { type: "button", class: "danger", "aria-label": "Suspend " + label }, "Suspend");
    button.addEventListener("click", () => {
      const id = "reason-" + agent.npn;
      const input = el("input", { id, maxlength: "200", required: true, autocomplete: "off" });
      const confirm = el("button", { type: "submit", class: "danger" }, "Confirm suspension");
      const cancel = el("button", { type: "button", class: "secondary" }, "Cancel");
      const form = el("form", { class: "stack", novalidate: true },
        el("label", { for: id }, "Why suspend " + label + "?"), input, confirm, cancel);
      cancel.addEventListener("click", () => agentActions(agent, label, cell));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (input.value.trim().length < 3) {
          input.setAttribute("aria-invalid", "true");
          return problem($("agents-error"), "Give the reason for suspending " + label + " (at least 3 characters).");
        }
        changeAgent(agent, label, "suspend", JSON.stringify({ reason: input.value.trim() }), confirm);
      });
      cell.replaceChildren(form);
      input.focus();
    });
    cell.replaceChildren(button);
  }

  async function changeAgent(agent, label, change, body, button) {
    button.disabled = true;
    problem($("agents-error"), "");
    try {
      const response = await api("POST", "admin/agents/" + encodeURIComponent(agent.npn) + "/" + change, body);
      const answer = await json(response);
      if (response.status !== 200) {
        button.disabled = false;
        return problem($("agents-error"), "Could not " + change + " " + label + ": " + fieldMessages(answer));
      }
      await findAgents(false);
      const message = $("agents-message");
      message.textContent = change === "suspend"
        ? label + " is suspended: no referrals are offered to them until reactivated."
        : label + " is reactivated and can receive referrals again.";
      show(message, true);
      message.focus();
    } catch (error) {
      button.disabled = false;
      if (!(error instanceof SignedOut)) problem($("agents-error"), error.message);
    }
  }

  async function findAgents(focus) {
    const q = $("agents-q").value.trim();
    const response = await api("GET", "admin/search/agents?q=" + encodeURIComponent(q));
    const answer = await json(response);
    if (response.status !== 200) {
      $("agents-q").setAttribute("aria-invalid", "true");
      return problem($("agents-error"), response.status === 400 ? "Type an NPN, an e-mail address or the start " +
        "of a name (at most 100 characters)." : fieldMessages(answer));
    }
    $("agents-q").removeAttribute("aria-invalid");
    $("agents-table").tBodies[0].replaceChildren(...answer.agents.map(agentRow));
    $("agents-heading").textContent = answer.agents.length === 1 ? "1 agent found" : answer.agents.length + " agents found";
    show($("agents-table"), answer.agents.length > 0);
    show($("agents-empty"), answer.agents.length === 0);
    show($("agents-result"), true);
    if (focus) $("agents-heading").focus();
  }

  $("agents-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    problem($("agents-error"), "");
    show($("agents-message"), false);
    if (!$("agents-q").value.trim()) {
      $("agents-q").setAttribute("aria-invalid", "true");
      return problem($("agents-error"), "Type an NPN, an e-mail address or the start of a name.");
    }
    try {
      await findAgents(true);
    } catch (error) {
      if (!(error instanceof SignedOut)) problem($("agents-error"), error.message);
    }
  });

  // ----- referral look-up ------------------------------------------------------------------------------------
  const STATUS_NAMES = {
    searching: "Searching for an agent",
    offered: "Offered to an agent",
    safety_net: "In the safety net",
    accepted: "Accepted",
    in_progress: "In progress",
    not_a_good_referral: "Not a good referral",
    completed: "Referral completed",
    unserved: "Unserved",
  };

  const ACTIONS = {
    "referral.created": (d) => "Request received (" + [d.city, d.state].filter(Boolean).join(", ") + ")",
    "workflow.start_failed": () => "Matching could not start yet; the sweep retries",
    "offer.made": (d) => "Offered to agent " + d.agent_npn + by(d.channels),
    "offer.notified": (d) => "Offer to agent " + d.agent_npn + ": " + outcomes(d),
    "offer.accepted": (d) => "Accepted" + told(d),
    "offer.rejected": () => "Rejected; moved to the next agent",
    "offer.missed": (d) => "Missed by agent " + d.agent_npn + " (not answered in time)",
    "safety_net.opened": (d) => "Safety net opened (round " + d.round + ")",
    "safety_net.notified": (d) => "Safety-net e-mail to " + d.recipients + " agent(s)",
    "safety_net.queued": (d) => "Safety-net call queued for " + d.recipients + " agent(s)",
    "safety_net.sent": (d) => "Safety-net e-mails sent: " + (d.sent || 0),
    "notification.resent": (d) => "Held message " + d.message + ": " + d.outcome,
    "safety_net.lapsed": (d) => "Safety-net round " + d.round + " ended unanswered",
    "safety_net.accepted": (d) => "Taken from the safety net" + told(d),
    "accepted.notified": (d) => "Consumer's details to agent " + d.agent_npn + ": " + outcomes(d),
    "consumer.notified": (d) =>
      (d.message === "agent_assigned" ? "Who will call, to the consumer: " : "Receipt to the consumer: ") + outcomes(d),
    "consumer.not_called": () => "The consumer said nobody had called",
    "referral.reassigned": (d) => "Sent on to the next agent: agent " + d.from_agent_npn + " had not called",
    "agent.reminded": (d) => "Agent " + d.agent_npn + " reminded after " + d.after_minutes + " minutes",
    "referral.status": (d) =>
      "Status set to " + (STATUS_NAMES[d.status] || d.status) +
      (d.outcome ? ": " + (OUTCOMES[d.outcome] || d.outcome) : "") +
      (d.reason ? ": " + (REASONS[d.reason] || d.reason) : ""),
    "workflow.started": (d) => "Matching started" + (d.run ? " (execution " + executionName(d.run) + ")" : ""),
    "workflow.restarted": (d) => "Matching restarted (execution " + executionName(d.run) + ")",
    "workflow.restart_failed": (d) => "Matching could not restart (run " + d.run + "); the sweep retries",
    "referral.unserved": () => "Closed as unserved: no agent accepted",
  };
  // How a message went: the channels a decision sent it by, and (only when one did not take it) each outcome
  const CHANNEL_NAMES = { email: "e-mail", text: "text", app: "app" };
  function by(channels) {
    return channels && channels.length ? " by " + channels.map((c) => CHANNEL_NAMES[c] || c).join(" and ") : "";
  }
  function told(d) {
    if (!d.agent_channels && !d.consumer_channels) return "";
    return "; consumer's details to the agent" + (by(d.agent_channels) || " (no channel)") +
      ", who will call to the consumer" + (by(d.consumer_channels) || " (no channel)");
  }
  function outcomes(d) {
    return Object.keys(CHANNEL_NAMES).filter((c) => d[c]).map((c) => CHANNEL_NAMES[c] + " " + d[c]).join(", ");
  }

  // The agent's words for how a referral ended (as Manage Referrals shows them)
  const OUTCOMES = {
    selected_marketplace_qhp: "Selected a Marketplace QHP",
    referred_to_medicaid: "Referred to Medicaid",
    referred_to_navigator_assister: "Referred to a Navigator/Assister",
    other: "Other",
  };
  const REASONS = {
    wrong_contact_details: "Wrong contact details",
    already_has_broker: "Already has a broker",
    unreachable_after_three_attempts: "Unreachable after three attempts",
  };

  // A Step Functions execution by its name, not its ARN (…:execution:<state machine>:<name>)
  function executionName(run) {
    return typeof run === "string" ? run.split(":").pop() : String(run);
  }

  const SHOWN_IN_TITLE = new Set([
    "agent_npn",
    "round",
    "recipients",
    "after_minutes",
    "status",
    "message",
    "sent",
    "outcome",
    "reason",
    "run",
    "channels",
    "agent_channels",
    "consumer_channels",
    "email",
    "text",
    "app",
    "from_agent_npn",
  ]);

  function actorName(actor) {
    if (actor.startsWith("agent:")) return "agent " + actor.slice(6);
    return actor;
  }

  function detailText(detail) {
    return Object.entries(detail || {})
      .filter(([key, value]) => !SHOWN_IN_TITLE.has(key) && value !== null && value !== "")
      .map(([key, value]) => {
        const label = key.replace(/_/g, " ");
        if (key === "deadline") return "deadline " + when(value);
        return label + ": " + (typeof value === "object" ? JSON.stringify(value) : value);
      })
      .join(" · ");
  }

  function fact(term, value) {
    return [el("dt", {}, term), el("dd", {}, value)];
  }

  $("referral-form").addEventListener("submit", (event) => {
    event.preventDefault();
    lookUp();
  });

  async function lookUp() {
    problem($("referral-error"), "");
    show($("referral-result"), false);
    const typed = $("referral-id").value.trim();
    const id = typed.length <= 12 ? typed.replace(/[\s-]+/g, "").toUpperCase() : typed;
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(id)) {
      $("referral-id").setAttribute("aria-invalid", "true");
      return problem($("referral-error"), "Enter the confirmation code (like HK7M-4QXZ) or the referral ID.");
    }
    $("referral-id").removeAttribute("aria-invalid");
    try {
      const response = await api("GET", "admin/referrals/" + encodeURIComponent(id));
      const answer = await json(response);
      if (response.status === 404) {
        return problem($("referral-error"), "No referral has the confirmation code or ID " + typed + ".");
      }
      if (response.status !== 200) return problem($("referral-error"), fieldMessages(answer));
      const place = answer.place || {};
      $("referral-heading").textContent = "Referral " + (answer.confirmation_code || answer.referral_id);
      $("referral-facts").replaceChildren(
        ...fact("Confirmation code", answer.confirmation_code || "—"),
        ...fact("Referral ID", answer.referral_id),
        ...fact("Status", el("span", { class: "badge " + answer.status }, STATUS_NAMES[answer.status] || answer.status)),
        ...fact("Place", [place.city, place.county, place.state].filter(Boolean).join(", ") + " " + (place.zip || "")),
        ...fact("Language", languageName(answer.language)),
        ...fact("Received", when(answer.created_at)),
        ...fact("Last change", when(answer.updated_at)),
      );
      $("referral-trail").replaceChildren(
        ...(answer.audit_trail || []).map((event) => {
          const title = (ACTIONS[event.action] || (() => event.action))(event.detail || {});
          const details = detailText(event.detail);
          return el(
            "li",
            { "data-action": event.action },
            el("time", { datetime: event.at }, when(event.at)),
            el("strong", {}, title),
            el("span", { class: "small muted" }, " by " + actorName(event.actor)),
            details ? el("p", { class: "small" }, details) : null,
          );
        }),
      );
      show($("referral-result"), true);
      $("referral-heading").focus();
    } catch (error) {
      if (!(error instanceof SignedOut)) problem($("referral-error"), error.message);
    }
  }

  // ----- today's referrals -----------------------------------------------------------------------------------
  const LIST_NAMES = { open: "Open referrals", safety_net: "Referrals in the safety net", unserved: "Unserved referrals" };

  function localDay(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
  }

  function listedRow(row, zone) {
    const received = new Intl.DateTimeFormat(undefined, { timeStyle: "short", timeZone: zone }).format(
      new Date(row.created_at),
    );
    const open = el("button", { type: "button", class: "secondary", "aria-label": "Look up the referral received at " +
      received + " in " + row.state }, "Look up");
    open.addEventListener("click", () => {
      $("referral-id").value = row.referral_id;
      location.hash = "#referral";
      lookUp();
    });
    return el(
      "tr",
      { "data-referral": row.referral_id },
      el("td", { "data-label": "Received" }, el("time", { datetime: row.created_at }, received)),
      el("td", { "data-label": "Status" }, el("span", { class: "badge " + row.status }, STATUS_NAMES[row.status] || row.status)),
      el("td", { "data-label": "State" }, row.state),
      el("td", { "data-label": "Language" }, languageName(row.language)),
      el("td", { "data-label": "Safety-net round" }, row.safety_net_round || "—"),
      el("td", { "data-label": "Action" }, open),
    );
  }

  $("today-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    problem($("today-error"), "");
    const zone = $("today-tz").value.trim();
    const query = "list=" + $("today-list").value + "&day=" + encodeURIComponent($("today-day").value) +
      "&tz=" + encodeURIComponent(zone);
    try {
      const response = await api("GET", "admin/referrals?" + query);
      const answer = await json(response);
      if (response.status !== 200) {
        const fields = answer.fields || {};
        if (fields.tz) $("today-tz").setAttribute("aria-invalid", "true");
        return problem($("today-error"), fields.tz ? "Time zone: " + fields.tz + "." : fieldMessages(answer));
      }
      $("today-tz").removeAttribute("aria-invalid");
      $("today-table").tBodies[0].replaceChildren(...answer.referrals.map((row) => listedRow(row, answer.tz)));
      $("today-heading").textContent = LIST_NAMES[answer.kind] + ", " + answer.day + " (" + answer.tz + "): " +
        answer.referrals.length;
      show($("today-table"), answer.referrals.length > 0);
      show($("today-empty"), answer.referrals.length === 0);
      show($("today-truncated"), answer.truncated);
      show($("today-result"), true);
      $("today-heading").focus();
    } catch (error) {
      if (!(error instanceof SignedOut)) problem($("today-error"), error.message);
    }
  });

  for (const node of document.querySelectorAll(".local-zone")) {
    node.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";
  }

  // ----- suspended agents ------------------------------------------------------------------------------------
  let suspendedAfter = null;

  function suspendedRow(agent) {
    const name = agent.first_name + " " + agent.last_name;
    const button = el(
      "button",
      { type: "button", class: "accept", "aria-label": "Reactivate " + name + " (NPN " + agent.npn + ")" },
      "Reactivate",
    );
    button.addEventListener("click", () => reactivate(agent, name, button));
    return el(
      "tr",
      { "data-npn": agent.npn },
      el("td", { "data-label": "Agent" }, name, el("br"), el("span", { class: "small muted" }, agent.email || "")),
      el("td", { "data-label": "NPN" }, agent.npn),
      el("td", { "data-label": "Reason" }, agent.suspended_reason || "—"),
      el("td", { "data-label": "Suspended since" }, when(agent.suspended_at)),
      el("td", { "data-label": "Missed, last 7 days" }, agent.missed_in_last_7_days),
      el("td", { "data-label": "Action" }, button),
    );
  }

  function updateSuspendedEmpty() {
    const rows = $("suspended-table").tBodies[0].rows.length;
    show($("suspended-table"), rows > 0);
    show($("suspended-empty"), rows === 0);
  }

  async function loadSuspended(more) {
    problem($("suspended-error"), "");
    const body = $("suspended-table").tBodies[0];
    if (!more) {
      suspendedAfter = null;
      body.replaceChildren();
    }
    let path = "admin/agents?status=suspended&limit=50";
    if (more && suspendedAfter) path += "&after=" + encodeURIComponent(suspendedAfter);
    try {
      const response = await api("GET", path);
      const answer = await json(response);
      if (response.status !== 200) return problem($("suspended-error"), fieldMessages(answer));
      body.append(...answer.agents.map(suspendedRow));
      suspendedAfter = answer.next_after;
      show($("suspended-more"), Boolean(suspendedAfter));
      updateSuspendedEmpty();
    } catch (error) {
      if (!(error instanceof SignedOut)) problem($("suspended-error"), error.message);
    }
  }

  async function reactivate(agent, name, button) {
    button.disabled = true;
    problem($("suspended-error"), "");
    try {
      const response = await api("POST", "admin/agents/" + encodeURIComponent(agent.npn) + "/reactivate");
      const answer = await json(response);
      if (response.status !== 200) {
        button.disabled = false;
        return problem($("suspended-error"), "Could not reactivate " + name + ": " + fieldMessages(answer));
      }
      button.closest("tr").remove();
      updateSuspendedEmpty();
      const message = $("suspended-message");
      message.textContent = name + " (NPN " + agent.npn + ") is reactivated and can receive referrals again.";
      show(message, true);
      message.focus();
    } catch (error) {
      button.disabled = false;
      if (!(error instanceof SignedOut)) problem($("suspended-error"), error.message);
    }
  }

  $("suspended-refresh").addEventListener("click", () => {
    show($("suspended-message"), false);
    loadSuspended(false);
  });
  $("suspended-more").addEventListener("click", () => loadSuspended(true));

  // ----- program metrics -------------------------------------------------------------------------------------
  let metricsRange = null;

  function defaultDates() {
    const today = new Date();
    $("metrics-to").value = localDay(today);
    $("metrics-from").value = localDay(new Date(today.getTime() - 6 * 86400000));
  }

  // As the CSV writes them: rates (…_pct) with one decimal, counts and seconds as whole numbers.
  function cell(name, value) {
    if (value === null || value === undefined) return "—";
    return name.endsWith("_pct") ? Number(value).toFixed(1) : String(value);
  }

  function rate(value) {
    return value === null || value === undefined ? "—" : Number(value).toFixed(1) + "%";
  }

  function seconds(value) {
    if (value === null || value === undefined) return "—";
    const minutes = Math.floor(value / 60);
    return minutes ? minutes + " min " + (value % 60) + " s" : value + " s";
  }

  function chart(figure, rows, label) {
    const max = Math.max(1, ...rows.map((row) => row.referrals));
    figure.querySelector(".bars").replaceChildren(
      ...(rows.length
        ? rows.map((row) =>
            el(
              "div",
              { class: "bar-row" },
              el("span", { class: "bar-label" }, label(row.key)),
              el(
                "span",
                { class: "bar-track", "aria-hidden": "true" },
                el("span", { class: "bar", "data-width": String(Math.round((100 * row.referrals) / max)) }),
              ),
              el("span", { class: "bar-value" }, row.referrals),
            ),
          )
        : [el("p", { class: "muted" }, "No referrals in this range.")]),
    );
    for (const bar of figure.querySelectorAll(".bar")) bar.style.width = bar.dataset.width + "%";
  }

  function renderMetrics(answer) {
    const t = answer.totals;
    const stats = [
      ["Referrals", t.referrals],
      ["Accepted", t.accepted],
      ["Time to accept, median", seconds(t.time_to_accept_p50_s)],
      ["Time to accept, p90", seconds(t.time_to_accept_p90_s)],
      ["Time to accept, p95", seconds(t.time_to_accept_p95_s)],
      ["Missed-offer rate", rate(t.missed_offer_rate_pct)],
      ["Safety-net rate", rate(t.safety_net_rate_pct)],
      ["Unserved", t.unserved],
      ["Still open", t.still_open],
    ];
    $("metrics-stats").replaceChildren(
      ...stats.map(([label, value]) => el("div", { class: "stat" }, el("b", {}, value), label)),
    );
    chart($("chart-state"), answer.by_state, (key) => key);
    chart($("chart-language"), answer.by_language, languageName);
    const table = $("metrics-table");
    table.tHead.replaceChildren(
      el("tr", {}, ...answer.columns.map((column) => el("th", { scope: "col" }, column.label))),
    );
    const rows = [answer.totals, ...answer.by_state, ...answer.by_language];
    table.tBodies[0].replaceChildren(
      ...rows.map((row) =>
        el(
          "tr",
          {},
          ...answer.columns.map((column) => el("td", { "data-label": column.label }, cell(column.name, row[column.name]))),
        ),
      ),
    );
    $("metrics-heading").textContent = "Summary, " + answer.from + " to " + answer.to + " (" + answer.days_in + ")";
    show($("metrics-result"), true);
    $("metrics-heading").focus();
  }

  function metricsFieldErrors(fields) {
    for (const name of ["from", "to"]) {
      const input = $("metrics-" + name);
      const error = $("metrics-" + name + "-error");
      const message = fields[name];
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      error.textContent = message || "";
      show(error, Boolean(message));
    }
  }

  $("metrics-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    problem($("metrics-error"), "");
    const from = $("metrics-from").value;
    const to = $("metrics-to").value;
    const local = {};
    if (!from) local.from = "Choose the first day.";
    if (!to) local.to = "Choose the last day.";
    metricsFieldErrors(local);
    if (Object.keys(local).length) return problem($("metrics-error"), "Choose both days.");
    try {
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
      const query = "from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(to) + "&tz=" + encodeURIComponent(zone);
      const response = await api("GET", "admin/metrics?" + query);
      const answer = await json(response);
      if (response.status === 400 && answer.fields) {
        metricsFieldErrors(answer.fields);
        return problem($("metrics-error"), fieldMessages(answer));
      }
      if (response.status !== 200) return problem($("metrics-error"), fieldMessages(answer));
      metricsRange = query;
      renderMetrics(answer);
    } catch (error) {
      if (!(error instanceof SignedOut)) problem($("metrics-error"), error.message);
    }
  });

  $("metrics-csv").addEventListener("click", async () => {
    if (!metricsRange) return;
    try {
      const response = await api("GET", "admin/metrics?" + metricsRange + "&format=csv");
      if (response.status !== 200) return problem($("metrics-error"), fieldMessages(await json(response)));
      const disposition = response.headers.get("Content-Disposition") || "";
      const named = /filename="([^"]+)"/.exec(disposition);
      const url = URL.createObjectURL(await response.blob());
      const link = el("a", { href: url, download: named ? named[1] : "hod-metrics.csv", class: "hidden" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      if (!(error instanceof SignedOut)) problem($("metrics-error"), error.message);
    }
  });

  // ----- start -----------------------------------------------------------------------------------------------
  if (sessionStorage.getItem(TOKEN_KEY)) enterConsole();
  else show($("signin"), true);
})();
