// The lint on the board ("Checks"): the panel's toggle, the markers on cards, stage heads and
// conditions, a finding's cards highlighted when it is clicked, and an example customer copied as
// JSON.
//
// The server renders the panel (#lint, with every marker of the board in the JSON data block
// #lint-marks) and sends it whole with every live frame. The markers are drawn here from that one
// source after every change of the page — a live swap (`blueprint:swapped`, from live.js) or an htmx
// answer — so a page load and a live page show the same. What this module adds to server-rendered
// content carries `data-decoration`, which live.js leaves out when it compares old content with new.
//
// Notes (overlaps: usually intended, and many) are folded in the panel; their markers show only
// while they are unfolded and the panel is open, so a projected board shows the problems only.

import { announce } from "./announce.js";

const page = document.querySelector(".board-page");
const toggle = document.getElementById("lint-toggle");

const PANEL_KEY = "blueprint:lint";
const NOTES_KEY = "blueprint:lint-notes";
const HIGHLIGHT_MS = 6000;
const COPY_LABEL = "Copy as JSON";
const LEVELS = ["error", "warning", "info"];
const WORDS = { error: "Error", warning: "Warning", info: "Note" };

let highlight = null; // {finding: id of the finding's <li>, targets: [element ids]}
let highlightTimer = 0;
const openExamples = new Set(); // example <details> someone unfolded, by id: kept through swaps
let drawQueued = false;

// --- Remembered state ----------------------------------------------------------------------------

function recall(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage disabled: defaults
  }
}

function remember(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // remembered for this page only
  }
}

// --- The panel -----------------------------------------------------------------------------------

function panelOpen() {
  return !page.classList.contains("lint-collapsed");
}

function showPanel(open) {
  page.classList.toggle("lint-collapsed", !open);
  toggle.setAttribute("aria-expanded", String(open));
  showNotes();
}

// The server renders notes folded; unfold them again when this person had them open.
function restoreFolds() {
  const notes = document.getElementById("lint-notes");
  if (notes && recall(NOTES_KEY) === "open" && !notes.open) notes.open = true;
  for (const id of openExamples) {
    const example = document.getElementById(id);
    if (example) example.open = true;
  }
  showNotes();
}

function showNotes() {
  const notes = document.getElementById("lint-notes");
  page.classList.toggle("lint-notes-shown", Boolean(panelOpen() && notes && notes.open));
}

// `toggle` does not bubble: listened for on the way down.
document.addEventListener(
  "toggle",
  (event) => {
    const details = event.target;
    if (!(details instanceof HTMLDetailsElement) || !details.closest("#lint")) return;
    if (details.id === "lint-notes") {
      remember(NOTES_KEY, details.open ? "open" : "closed");
      showNotes();
    } else if (details.id) {
      if (details.open) openExamples.add(details.id);
      else openExamples.delete(details.id);
    }
  },
  true,
);

// --- Markers -------------------------------------------------------------------------------------

function marks() {
  const data = document.getElementById("lint-marks");
  try {
    const parsed = JSON.parse(data ? data.textContent : "{}");
    return { offers: parsed.offers || {}, stages: parsed.stages || {}, chips: parsed.chips || [] };
  } catch {
    return { offers: {}, stages: {}, chips: [] };
  }
}

// Many swaps can come in one frame: draw once, after the last, before the page is painted.
function queueDraw() {
  if (drawQueued) return;
  drawQueued = true;
  queueMicrotask(() => {
    drawQueued = false;
    draw();
  });
}

function draw() {
  const { offers, stages, chips } = marks();
  for (const card of document.querySelectorAll("#board .card[data-offer-key]:not(.editing)")) {
    const top = card.querySelector(":scope > .card-top");
    if (top) mark(top, offers[card.dataset.offerKey], null, "offer");
  }
  for (const column of document.querySelectorAll("#board .column[data-stage-key]")) {
    const title = column.querySelector(":scope > .column-head:not(.editing) .column-title");
    if (title) mark(title, stages[column.dataset.stageKey], title.querySelector(".column-count"), "stage");
  }
  markChips(chips);
  drawHighlight();
}

// One marker at the end of a card's top line or before a stage's offer count; kept when unchanged.
function mark(parent, wanted, before, kind) {
  let marker = parent.querySelector(":scope > .lint-mark");
  if (!wanted) {
    if (marker) marker.remove();
    return;
  }
  const title = wanted.title ? `${wanted.label}\n${wanted.title}` : `${wanted.label} — see Checks`;
  const label = `${wanted.label} on this ${kind}: show in Checks`;
  if (!marker) {
    marker = document.createElement("button");
    marker.type = "button";
    marker.className = "lint-mark";
    marker.dataset.decoration = "";
    const icon = document.createElement("span");
    icon.className = "lint-icon";
    icon.setAttribute("aria-hidden", "true");
    marker.append(icon);
    parent.insertBefore(marker, before);
  }
  if (marker.dataset.level !== wanted.level) {
    marker.dataset.level = wanted.level;
    marker.firstElementChild.dataset.level = wanted.level;
  }
  if (marker.title !== title) marker.title = title;
  if (marker.getAttribute("aria-label") !== label) marker.setAttribute("aria-label", label);
}

// The conditions a contradiction or a redundant condition points at: a ring around the chip, and
// the message when the pointer rests on it.
function markChips(chips) {
  const wanted = new Map(); // chip element → {level, titles}
  for (const item of chips) {
    for (const chip of chipsOf(item)) {
      const found = wanted.get(chip) || { level: item.level, titles: [] };
      if (LEVELS.indexOf(item.level) < LEVELS.indexOf(found.level)) found.level = item.level;
      found.titles.push(item.title);
      wanted.set(chip, found);
    }
  }
  for (const old of document.querySelectorAll("#board .lint-chip-mark")) {
    if (!wanted.has(old.parentElement)) old.remove();
  }
  for (const [chip, { level, titles }] of wanted) {
    let marker = chip.querySelector(":scope > .lint-chip-mark");
    if (!marker) {
      marker = document.createElement("span");
      marker.className = "lint-chip-mark";
      marker.dataset.decoration = "";
      const words = document.createElement("span");
      words.className = "visually-hidden";
      marker.append(words);
      chip.append(marker);
    }
    const title = titles.join("\n");
    const spoken = ` (${WORDS[level].toLowerCase()}: see Checks)`;
    if (marker.dataset.level !== level) marker.dataset.level = level;
    if (marker.title !== title) marker.title = title;
    if (marker.firstElementChild.textContent !== spoken) marker.firstElementChild.textContent = spoken;
  }
}

function chipsOf({ stage, offer, group, condition }) {
  const owner = offer
    ? document.getElementById(`offer-${offer}`)
    : document.querySelector(`#stage-${CSS.escape(stage)}-head .column-entry`);
  if (!owner || typeof group !== "number") return [];
  const groups = owner.querySelectorAll(":scope > .groups > .group");
  let list;
  if (groups.length) list = groups[group] && groups[group].querySelector(":scope > .chips");
  else list = group === 0 ? owner.querySelector(":scope > .chips") : null;
  if (!list) return [];
  const chips = [...list.querySelectorAll(":scope > .chip")];
  if (typeof condition === "number") return chips[condition] ? [chips[condition]] : [];
  return chips;
}

// --- Highlighting a finding's cards --------------------------------------------------------------

function targetsOf(finding) {
  const offers = (finding.dataset.offers || "").split(" ").filter(Boolean);
  const stage = finding.dataset.stage;
  if (offers.length && finding.dataset.part !== "entry") return offers.map((key) => `offer-${key}`);
  return stage ? [`stage-${stage}-head`] : [];
}

function select(finding) {
  clearHighlight();
  finding.classList.add("lint-finding-active");
  highlight = { finding: finding.id, targets: targetsOf(finding) };
  drawHighlight();
  const first = highlight.targets.map((id) => document.getElementById(id)).find(Boolean);
  if (first) reveal(first, document.getElementById("board"));
  const shown = highlight.targets.filter((id) => document.getElementById(id)).length;
  const what = finding.querySelector(".lint-what");
  announce(
    shown
      ? `${what ? what.textContent.trim() : "Finding"}: ${shown === 1 ? "1 item" : `${shown} items`} outlined on the board`
      : "Not on the board any more",
  );
  highlightTimer = setTimeout(clearHighlight, HIGHLIGHT_MS);
}

function drawHighlight() {
  if (!highlight) return;
  const finding = document.getElementById(highlight.finding);
  if (finding) finding.classList.add("lint-finding-active");
  for (const id of highlight.targets) {
    const target = document.getElementById(id);
    if (!target || target.querySelector(":scope > .lint-glow")) continue;
    const glow = document.createElement("span");
    glow.className = "lint-glow";
    glow.dataset.decoration = "";
    glow.setAttribute("aria-hidden", "true");
    target.append(glow);
  }
}

function clearHighlight() {
  clearTimeout(highlightTimer);
  highlight = null;
  for (const glow of document.querySelectorAll(".lint-glow")) glow.remove();
  for (const active of document.querySelectorAll(".lint-finding-active")) active.classList.remove("lint-finding-active");
}

// Into view unless it already is, within its own scroller only: scrollIntoView would also scroll
// the page's overflow-hidden frame.
function reveal(element, scroller, { center = true } = {}) {
  if (!scroller) return;
  const box = element.getBoundingClientRect();
  const view = scroller.getBoundingClientRect();
  const inside = box.left >= view.left && box.right <= view.right && box.top >= view.top && box.bottom <= view.bottom;
  if (inside) return;
  let top = scroller.scrollTop + box.top - view.top;
  let left = scroller.scrollLeft + box.left - view.left;
  if (center) {
    top -= Math.max(0, (view.height - box.height) / 2);
    left -= Math.max(0, (view.width - box.width) / 2);
  } else {
    top -= 8;
  }
  const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  scroller.scrollTo({ top, left, behavior: still ? "auto" : "smooth" });
}

// A marker on a card or a stage head: open the panel at the first finding about it.
function showFindingsOf(marker) {
  const card = marker.closest(".card[data-offer-key]");
  const column = marker.closest(".column[data-stage-key]");
  if (!panelOpen()) {
    showPanel(true);
    remember(PANEL_KEY, "open");
  }
  if (marker.dataset.level === "info") {
    const notes = document.getElementById("lint-notes");
    if (notes) notes.open = true;
  }
  const findings = [...document.querySelectorAll("#lint .lint-finding")];
  const about = card
    ? findings.find((f) => (f.dataset.offers || "").split(" ").includes(card.dataset.offerKey))
    : findings.find((f) => f.dataset.stage === column.dataset.stageKey && targetsOf(f)[0] === `stage-${f.dataset.stage}-head`);
  if (!about) {
    announce(marker.title);
    return;
  }
  const details = about.closest("details");
  if (details) details.open = true;
  select(about);
  const button = about.querySelector(".lint-show");
  if (button) {
    button.focus({ preventScroll: true });
    reveal(about, document.getElementById("lint-panel"), { center: false });
  }
}

// --- Copying an example customer -----------------------------------------------------------------

async function copy(button) {
  const text = button.dataset.copy || "";
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch {
    copied = copyBySelection(text);
  }
  button.textContent = copied ? "Copied" : "Could not copy";
  announce(copied ? "Example customer copied as JSON" : "The example could not be copied");
  setTimeout(() => {
    if (button.isConnected) button.textContent = COPY_LABEL;
  }, 2000);
}

// Where the asynchronous clipboard is not allowed (a page served over plain HTTP to another host).
function copyBySelection(text) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "visually-hidden";
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

// --- Wiring --------------------------------------------------------------------------------------

function start() {
  if (!page || !toggle) return;
  showPanel(recall(PANEL_KEY) !== "closed");
  toggle.addEventListener("click", () => {
    const open = !panelOpen();
    showPanel(open);
    remember(PANEL_KEY, open ? "open" : "closed");
  });
  document.addEventListener("click", (event) => {
    const target = event.target.closest ? event.target : null;
    if (!target) return;
    const show = target.closest("#lint .lint-show");
    if (show) select(show.closest(".lint-finding"));
    const marker = target.closest(".lint-mark");
    if (marker) showFindingsOf(marker);
    const copyButton = target.closest("#lint .lint-copy");
    if (copyButton) copy(copyButton);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && highlight && event.target.closest && event.target.closest("#lint")) clearHighlight();
  });
  document.addEventListener("blueprint:swapped", () => {
    restoreFolds(); // the panel may be a new one, folded as the server renders it
    queueDraw();
  });
  document.addEventListener("htmx:afterSettle", () => queueDraw());
  restoreFolds();
  draw();
}

start();
