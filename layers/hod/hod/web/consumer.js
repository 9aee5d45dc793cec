// Get Contacted: posts the form to POST referrals as JSON, shows each field's problem next to it, and the
// confirmation of what happens next. One Idempotency-Key per filled-in form, so a double tap sends one request.
"use strict";
(function () {
  const text = JSON.parse(document.getElementById("text").textContent);
  const form = document.getElementById("form");
  const problems = document.getElementById("problems");
  const fields = ["first_name", "last_name", "phone", "email", "zip", "language"];
  let key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();

  function clear() {
    problems.classList.add("hidden");
    problems.textContent = "";
    for (const name of fields) {
      document.getElementById(name).removeAttribute("aria-invalid");
      const el = document.getElementById(name + "-error");
      el.textContent = "";
      el.classList.add("hidden");
    }
  }

  // The server's own words for the ZIP code (in the page's language: it is asked for with Accept-Language), with the
  // site it names as a link; the page's words for the rest, and for what is checked here.
  function ownWords(name, errors) {
    return name === "zip" && errors.zip ? errors.zip : "";
  }

  function withLinks(element, message) {
    const parts = message.split(/(https:\/\/\S+)/);
    element.replaceChildren();
    parts.forEach(function (part, i) {
      if (i % 2 === 0) {
        if (part) element.appendChild(document.createTextNode(part));
        return;
      }
      const link = document.createElement("a");
      link.href = part;
      link.textContent = part.replace(/^https:\/\//, "").replace(/\/$/, "");
      element.appendChild(link);
    });
  }

  function showFieldErrors(errors) {
    const list = document.createElement("ul");
    let first = null;
    for (const name of fields) {
      if (!(name in errors)) continue;
      const message = ownWords(name, errors) || text["error_" + name] || errors[name];
      const input = document.getElementById(name);
      input.setAttribute("aria-invalid", "true");
      const el = document.getElementById(name + "-error");
      withLinks(el, message);
      el.classList.remove("hidden");
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = "#" + name;
      link.textContent = message;
      item.appendChild(link);
      list.appendChild(item);
      first = first || input;
    }
    const title = document.createElement("p");
    title.textContent = text.errors_title;
    problems.replaceChildren(title, list);
    problems.classList.remove("hidden");
    problems.focus();
  }

  function showProblem(message) {
    problems.textContent = message;
    problems.classList.remove("hidden");
    problems.focus();
  }

  // The number as the consumer reads it back: (512) 555-0188
  function usPhone(phone) {
    const digits = phone.replace(/\D/g, "").replace(/^1(?=\d{10}$)/, "");
    return "(" + digits.slice(0, 3) + ") " + digits.slice(3, 6) + "-" + digits.slice(6);
  }

  function localCheck(body) {
    const errors = {};
    if (!body.first_name) errors.first_name = "";
    if (!body.last_name) errors.last_name = "";
    if (body.phone.replace(/\D/g, "").replace(/^1(?=\d{10}$)/, "").length !== 10) errors.phone = "";
    if (body.email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(body.email)) errors.email = "";
    if (!/^\d{5}(-\d{4})?$/.test(body.zip)) errors.zip = "";
    return errors;
  }

  // Whether an agent is available now is decided within about a second of the request (the match, or the safety
  // net when nobody is): the confirmation asks the status page's JSON twin for a few seconds, and promises "usually
  // within minutes" only once an available agent has it; in the safety net it says so, when a call can be expected,
  // and gives the Marketplace Call Center.
  const POLLS = 8;

  function callCenter(element, center) {
    const parts = text.call_center.split(/(\{phone\}|\{tty\}|\{site\})/);
    element.replaceChildren();
    for (const part of parts) {
      const link = document.createElement("a");
      if (part === "{phone}" || part === "{tty}") {
        const number = part === "{phone}" ? center.phone : center.tty;
        link.href = "tel:" + number;
        link.textContent = number;
      } else if (part === "{site}") {
        link.href = center.site;
        link.textContent = text.call_center_site;
      } else {
        element.appendChild(document.createTextNode(part));
        continue;
      }
      element.appendChild(link);
    }
  }

  function showAfterHours(status) {
    const net = status.safety_net;
    document.getElementById("after-hours-when").textContent = text.after_hours
      .replace("{next_search}", net.next_search_local)
      .replace("{until}", net.tries_until_local);
    callCenter(document.getElementById("after-hours-call-center"), status.call_center);
    document.getElementById("after-hours").classList.remove("hidden");
    document.getElementById("done-step-2").textContent = text.after_hours_step_2;
  }

  async function whenToExpect(token, polls) {
    try {
      const response = await fetch("status.json?t=" + encodeURIComponent(token), { cache: "no-store" });
      const status = response.ok ? await response.json() : null;
      if (status && status.stage === "safety_net" && status.safety_net) return showAfterHours(status);
      if (status && status.matched) {
        document.getElementById("done-step-2").textContent = text.done_step_2;
        return;
      }
    } catch (error) {
      // not known yet: the confirmation keeps its plain words
    }
    if (polls > 1) window.setTimeout(() => whenToExpect(token, polls - 1), 1000);
  }

  form.addEventListener("input", function () {
    key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    clear();
    const body = {};
    for (const name of fields) body[name] = document.getElementById(name).value.trim();
    if (!body.email) delete body.email;
    const local = localCheck(body);
    if (Object.keys(local).length) return showFieldErrors(local);
    const button = document.getElementById("submit");
    button.disabled = true;
    button.textContent = text.sending;
    try {
      const response = await fetch("referrals", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "Idempotency-Key": key,
          "Accept-Language": document.documentElement.lang || "en",
        },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      if (response.status === 201) {
        form.classList.add("hidden");
        document.getElementById("done-message").textContent = answer.message;
        document.getElementById("done-reference").textContent = answer.confirmation_code;
        document.getElementById("done-phone").textContent = text.done_phone.replace("{phone}", usPhone(body.phone));
        const done = document.getElementById("done");
        done.classList.remove("hidden");
        done.focus();
        if (answer.status_token) {
          document.getElementById("done-status-link").href = "status?t=" + encodeURIComponent(answer.status_token);
          document.getElementById("done-status").classList.remove("hidden");
          whenToExpect(answer.status_token, POLLS);
        }
        return;
      }
      if (response.status === 400 && answer.fields) return showFieldErrors(answer.fields);
      showProblem(text.error_busy);
    } catch (error) {
      showProblem(text.error_network);
    } finally {
      button.disabled = false;
      button.textContent = text.submit;
    }
  });
})();
