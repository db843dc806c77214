// The pulp2to3 dashboard: reads the REST API (/pulp/api/v3/) by polling, with HTTP Basic
// credentials kept in this tab's sessionStorage. Plain JavaScript, no build step, no other
// origin. Everything the API returns is put in the page as text (textContent), never as HTML.
"use strict";

const API = "/pulp/api/v3/";
const REPORTS = `${API}migrationreport/`;
const TASKS = `${API}tasks/`;
const FINISHED = new Set(["completed", "failed", "canceled"]);
const TASK_STATES = ["waiting", "running", "canceling", "completed", "failed", "canceled"];
const PAGE = 100;
const POLL_MS = { list: 2000, detail: 1000 };
const STORAGE_KEY = "pulp2to3.authorization";

let authorization = sessionStorage.getItem(STORAGE_KEY);
let generation = 0; // bumped on every navigation: answers to an older view are dropped
let timer = null;
const shown = new WeakMap(); // element -> JSON of what it shows, to skip identical redraws

class Unauthorized extends Error {}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// --- the API ------------------------------------------------------------------------------

function basic(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

function detailOf(body, fallback) {
  if (body && typeof body.detail === "string") return body.detail;
  if (body && typeof body === "object") {
    return Object.entries(body)
      .map(([field, messages]) => `${field}: ${[].concat(messages).join(" ")}`)
      .join("; ");
  }
  return fallback;
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (authorization) headers.Authorization = authorization;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // credentials "omit": a 401 comes back to this code instead of opening the browser's own
  // login prompt, and no credentials the browser cached are sent in place of ours.
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  const fallback = `${response.status} ${response.statusText}`;
  if (response.status === 401) throw new Unauthorized(detailOf(data, fallback));
  if (!response.ok) throw new ApiError(response.status, detailOf(data, fallback));
  return data;
}

async function latestReports() {
  // Reports are listed oldest first: the newest are on the last page.
  const first = await api(`${REPORTS}?limit=${PAGE}`);
  if (first.count <= PAGE) return first;
  return api(`${REPORTS}?limit=${PAGE}&offset=${first.count - PAGE}`);
}

// --- formatting ---------------------------------------------------------------------------

function idOf(href) {
  return href.replace(/\/$/, "").split("/").pop();
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

function rate(unitsPerSecond) {
  if (unitsPerSecond === null || unitsPerSecond === undefined) return "—";
  const digits = unitsPerSecond >= 100 ? 0 : 1;
  return `${unitsPerSecond.toFixed(digits)}/s`;
}

function when(moment) {
  return moment ? new Date(moment).toLocaleString() : "—";
}

function elapsed(report) {
  if (!report.started_at) return null;
  const end = report.finished_at ? new Date(report.finished_at) : new Date();
  return (end - new Date(report.started_at)) / 1000;
}

function currentStep(report) {
  const steps = report.steps;
  return (
    steps.find((step) => step.status === "running") ||
    [...steps].reverse().find((step) => step.status !== "waiting") ||
    steps[0] ||
    null
  );
}

// --- building the page ---------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("aria-") || key.startsWith("data-") || key === "role") {
      node.setAttribute(key, value);
    } else node[key] = value;
  }
  node.append(...children);
  return node;
}

function badge(status) {
  return el("span", { class: `badge ${status}`, text: status });
}

// A bar of done (and failed) units out of total, readable as an ARIA progressbar.
function bar(label, step) {
  const total = step.total || 0;
  const moved = (step.done || 0) + (step.failed || 0);
  const full = total === 0 && step.status === "completed";
  const share = (count) => (full ? 100 : total ? (100 * count) / total : 0);
  const percent = Math.round(share(moved));
  return el(
    "div",
    {
      class: "bar",
      role: "progressbar",
      "aria-label": label,
      "aria-valuemin": "0",
      "aria-valuemax": String(total),
      "aria-valuenow": String(moved),
      "aria-valuetext": `${moved} of ${total} (${percent}%)`,
      title: `${moved} of ${total}`,
    },
    segment("done", share(step.done || 0)),
    segment("failed", share(step.failed || 0)),
    el("span", { class: "label", text: `${percent}%` }),
  );
}

// Widths set through the CSSOM: the Content-Security-Policy forbids inline style attributes.
function segment(kind, percent) {
  const node = el("span", { class: kind });
  node.style.width = `${percent}%`;
  return node;
}

// Redraws ``element`` with ``build(data)`` only when ``data`` changed since the last draw, so
// that what the user opened (a traceback) stays open while nothing changes.
function draw(element, data, build) {
  const key = JSON.stringify(data);
  if (shown.get(element) === key) return;
  shown.set(element, key);
  element.replaceChildren(...build(data));
}

function row(...cells) {
  const td = (cell) =>
    cell instanceof Node ? el("td", {}, cell) : el("td", { text: String(cell) });
  return el("tr", {}, ...cells.map(td));
}

function taskSummary(counts) {
  const parts = TASK_STATES.filter((state) => counts[state]);
  return parts.length ? parts.map((state) => `${counts[state]} ${state}`).join(", ") : "—";
}

// --- views ---------------------------------------------------------------------------------

const views = {
  async list() {
    const page = await latestReports();
    return () => {
      const reports = [...page.results].reverse();
      document.getElementById("list-note").textContent =
        page.count === 0
          ? "No migration yet: run a plan (pulp2to3 migrate PLAN.json, or POST" +
            " /pulp/api/v3/migration-plans/{id}/run/)."
          : page.count > reports.length
            ? `The latest ${reports.length} of ${page.count}, newest first.`
            : `${page.count} migration${page.count === 1 ? "" : "s"}, newest first.`;
      draw(document.getElementById("migrations"), reports, () =>
        reports.map((report) => {
          const id = idOf(report.pulp_href);
          const step = currentStep(report);
          return row(
            el("a", { href: `#/migrations/${id}`, text: id.slice(0, 8), title: id }),
            badge(report.status),
            when(report.pulp_created),
            step ? step.code : "—",
            step ? bar(`${id} ${step.code}`, step) : "—",
            rate(report.units_per_second),
            FINISHED.has(report.status) ? "—" : duration(report.eta_seconds),
            when(report.finished_at),
          );
        }),
      );
    };
  },

  async detail(id) {
    const [report, failedTasks] = await Promise.all([
      api(`${REPORTS}${id}/`),
      api(`${TASKS}?report=${id}&state=failed&limit=${PAGE}`),
    ]);
    return () => showReport(report, failedTasks);
  },
};

function showReport(report, failedTasks) {
  const status = report.status;
  document.getElementById("migration-id").textContent = idOf(report.pulp_href);
  const statusBadge = document.getElementById("status");
  statusBadge.textContent = status;
  statusBadge.className = `badge ${status}`;
  document.getElementById("pause").disabled = status !== "running";
  document.getElementById("resume").disabled = !["paused", "pausing"].includes(status);
  document.getElementById("cancel").disabled = FINISHED.has(status);

  const summary = [
    ["Plan", idOf(report.plan)],
    ["Created", when(report.pulp_created)],
    ["Started", when(report.started_at)],
    ["Finished", when(report.finished_at)],
    ["Elapsed", duration(elapsed(report))],
    ["Rate", rate(report.units_per_second)],
    ["ETA", FINISHED.has(status) ? "—" : duration(report.eta_seconds)],
  ];
  document.getElementById("report-error").textContent = report.error || "";
  document.getElementById("summary").replaceChildren(
    ...summary.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { text: value })]),
  );

  draw(document.getElementById("steps"), report.steps, (steps) =>
    steps.map((step) =>
      row(
        el("span", { text: step.code, title: step.description }),
        badge(step.status),
        bar(step.code, step),
        step.done,
        step.failed,
        step.total,
        rate(step.units_per_second),
        step.status === "running" ? duration(step.eta_seconds) : "—",
        taskSummary(step.task_counts),
      ),
    ),
  );

  const totals = Object.fromEntries(TASK_STATES.map((state) => [state, 0]));
  for (const step of report.steps) {
    for (const [state, count] of Object.entries(step.task_counts)) {
      totals[state] = (totals[state] || 0) + count;
    }
  }
  const counts = document.getElementById("task-counts");
  draw(counts.tHead.rows[0], TASK_STATES, (states) =>
    states.map((state) => el("th", { text: state })),
  );
  draw(counts.tBodies[0].rows[0], totals, () =>
    TASK_STATES.map((state) => el("td", { text: String(totals[state]), "data-state": state })),
  );

  const failedUnits = report.steps.flatMap((step) =>
    step.failed_units.map((failure) => ({ step: step.code, ...failure })),
  );
  // The API names the first 100 failed units of each step; the steps count all of them.
  const failedCount = report.steps.reduce((sum, step) => sum + step.failed, 0);
  const named = failedCount > failedUnits.length ? ` of ${failedCount}` : "";
  document.getElementById("failed-units-count").textContent = `(${failedUnits.length}${named})`;
  draw(document.getElementById("failed-units"), failedUnits, (failures) =>
    failures.length
      ? failures.map((failure) =>
          row(failure.step, el("code", { text: failure.unit }), failure.reason),
        )
      : [el("tr", {}, el("td", { colSpan: 3, class: "none", text: "None." }))],
  );

  const more = failedTasks.count > failedTasks.results.length ? ` of ${failedTasks.count}` : "";
  const failedTasksCount = document.getElementById("failed-tasks-count");
  failedTasksCount.textContent = `(${failedTasks.results.length}${more})`;
  draw(document.getElementById("failed-tasks"), failedTasks.results, (tasks) =>
    tasks.length
      ? tasks.map((task) =>
          row(
            idOf(task.pulp_href),
            task.step || "—",
            task.name,
            when(task.finished_at),
            task.error
              ? el(
                  "details",
                  {},
                  el("summary", { text: task.error.description }),
                  el("pre", { text: task.error.traceback }),
                )
              : "—",
          ),
        )
      : [el("tr", {}, el("td", { colSpan: 5, class: "none", text: "None." }))],
  );
}

// --- navigation, polling, login ------------------------------------------------------------

function show(section) {
  for (const name of ["login", "list", "detail"]) {
    document.getElementById(name).hidden = name !== section;
  }
}

function stop() {
  generation += 1;
  clearTimeout(timer);
}

function poll(view, args, interval) {
  stop();
  const mine = generation;
  const tick = async () => {
    if (mine !== generation) return;
    if (!document.hidden) {
      try {
        const apply = await view(...args);
        if (mine !== generation) return;
        apply();
        connection(`Updated ${new Date().toLocaleTimeString()}`);
      } catch (error) {
        if (mine !== generation) return;
        if (error instanceof Unauthorized) return askLogin(error.message);
        if (error instanceof ApiError && error.status === 404) {
          connection("");
          return showNotFound();
        }
        connection(`The API does not answer (${error.message}); retrying`, true);
      }
    }
    timer = setTimeout(tick, interval);
  };
  return tick();
}

function connection(text, failing = false) {
  const node = document.getElementById("connection");
  node.textContent = text;
  node.classList.toggle("failing", failing);
}

function showNotFound() {
  stop();
  document.getElementById("list-note").textContent = "No such migration.";
  show("list");
}

function route() {
  const match = location.hash.match(/^#\/migrations\/([0-9a-fA-F-]{36})$/);
  if (match) {
    show("detail");
    return poll(views.detail, [match[1]], POLL_MS.detail);
  }
  show("list");
  return poll(views.list, [], POLL_MS.list);
}

function askLogin(message) {
  stop();
  document.getElementById("login-error").textContent = authorization ? message : "";
  document.getElementById("logout").hidden = true;
  show("login");
  document.querySelector("#login-form [name=password]").focus();
}

async function logIn(event) {
  event.preventDefault();
  const form = event.target;
  authorization = basic(form.elements.user.value, form.elements.password.value);
  try {
    await api(`${REPORTS}?limit=1`);
  } catch (error) {
    document.getElementById("login-error").textContent = error.message;
    authorization = null;
    sessionStorage.removeItem(STORAGE_KEY);
    return;
  }
  sessionStorage.setItem(STORAGE_KEY, authorization);
  form.elements.password.value = "";
  document.getElementById("login-error").textContent = "";
  document.getElementById("logout").hidden = false;
  route();
}

function logOut() {
  authorization = null;
  sessionStorage.removeItem(STORAGE_KEY);
  askLogin("");
}

async function changeStatus(status) {
  const id = document.getElementById("migration-id").textContent;
  const errorNode = document.getElementById("action-error");
  errorNode.textContent = "";
  for (const name of ["pause", "resume", "cancel"]) document.getElementById(name).disabled = true;
  try {
    await api(`${REPORTS}${id}/`, { method: "PATCH", body: { status } });
  } catch (error) {
    if (error instanceof Unauthorized) return askLogin(error.message);
    errorNode.textContent = error.message;
  }
  return route();
}

function confirmCancel() {
  const id = document.getElementById("migration-id").textContent;
  const question =
    `Cancel migration ${id}?\n\nIts queued tasks are dropped and running ones stop, rolling back ` +
    "the batch they are in. What was already migrated stays; a later run continues from there.";
  if (window.confirm(question)) return changeStatus("canceled");
  return undefined;
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("login-form").addEventListener("submit", logIn);
  document.getElementById("logout").addEventListener("click", logOut);
  document.getElementById("pause").addEventListener("click", () => changeStatus("paused"));
  document.getElementById("resume").addEventListener("click", () => changeStatus("running"));
  document.getElementById("cancel").addEventListener("click", confirmCancel);
  window.addEventListener("hashchange", () => {
    document.getElementById("action-error").textContent = "";
    route();
  });
  document.getElementById("logout").hidden = !authorization;
  route();
});
