// Presence on the live board: who is here (#presence, one avatar per person however many tabs
// they have open, yourself first), what this tab is editing (told to live.js, which tells the
// server), and a small avatar on every card or stage head someone else is editing.
//
// live.js sends `blueprint:presence` {members, you} (members null: the connection is down, so who
// is here is not known) and `blueprint:swapped` after it changed the page; this module sends
// `blueprint:editing` {editing}. Colours are classes (avatar-c0..7): the CSP forbids style attributes.

const SHOWN = 8; // more people than this: the rest are one "+N"

let members = [];
let you = null;
let stale = true;

document.addEventListener("blueprint:presence", (event) => {
  const detail = event.detail || {};
  you = detail.you || you;
  stale = !Array.isArray(detail.members);
  if (!stale) members = detail.members;
  drawBar();
  markEdited();
});

document.addEventListener("blueprint:swapped", refresh);
document.addEventListener("htmx:afterSettle", refresh);
document.addEventListener("focusin", (event) => {
  if (event.target.closest && event.target.closest(".editing[id]")) tellEditing();
});

function refresh() {
  tellEditing();
  markEdited();
}

// --- Who is here ---------------------------------------------------------------------------------

function people() {
  const byId = new Map();
  for (const member of members) {
    const key = member.id == null ? `tab:${member.tab}` : `id:${member.id}`;
    const person = byId.get(key) || { ...member, editing: [] };
    if (member.editing && !person.editing.includes(member.editing)) person.editing.push(member.editing);
    byId.set(key, person);
  }
  const list = [...byId.values()];
  for (const person of list) person.you = Boolean(you && person.id === you.id);
  return list.sort((a, b) => Number(b.you) - Number(a.you) || String(a.name).localeCompare(String(b.name)));
}

function drawBar() {
  const bar = document.getElementById("presence");
  if (!bar) return;
  bar.classList.toggle("presence-stale", stale);
  bar.title = stale ? "Not connected: who is here is not known right now" : "";
  const list = people();
  const shown = list.length > SHOWN ? list.slice(0, SHOWN - 1) : list;
  const items = shown.map(personItem);
  const rest = list.slice(shown.length);
  if (rest.length) {
    const more = document.createElement("li");
    more.className = "presence-more";
    more.title = rest.map((p) => p.name).join(", ");
    more.textContent = `+${rest.length}`;
    items.push(more);
  }
  bar.replaceChildren(...items);
}

function personItem(person) {
  const item = document.createElement("li");
  item.className = person.you ? "presence-person presence-you" : "presence-person";
  const doing = person.editing.map(label).filter(Boolean);
  const who = person.you ? `${person.name} (you)` : person.name;
  item.title = doing.length ? `${who} — editing ${doing.join(", ")}` : who;
  const face = avatar(person, "avatar");
  face.setAttribute("aria-hidden", "true");
  const name = document.createElement("span");
  name.className = "visually-hidden";
  name.textContent = item.title;
  item.append(face, name);
  if (person.you) {
    const mark = document.createElement("span");
    mark.className = "presence-you-mark";
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = "you";
    item.append(mark);
  }
  if (doing.length) item.classList.add("presence-editing");
  return item;
}

function avatar(person, className) {
  const face = document.createElement("span");
  const colour = Number.isInteger(person.colour) ? ((person.colour % 8) + 8) % 8 : 0;
  face.className = `${className} avatar-c${colour}`;
  face.textContent = person.initials || String(person.name || "?").slice(0, 2).toUpperCase();
  return face;
}

// "offer-welcome" → the offer's name as the page shows it, for a tooltip
function label(target) {
  const element = targetElement(target);
  if (!element) return "";
  const name = element.querySelector(".card-name, .column-name, input[name=name]");
  const text = name ? (name.tagName === "INPUT" ? name.value : name.textContent) : "";
  return text.trim() ? `“${text.trim()}”` : "";
}

// --- What someone else is editing ----------------------------------------------------------------

function targetElement(target) {
  if (typeof target !== "string") return null;
  if (target.startsWith("offer-")) {
    return document.getElementById(target) || document.getElementById(`${target}-edit`);
  }
  if (target.startsWith("stage-")) {
    return document.getElementById(`${target}-head`) || document.getElementById(`${target}-head-edit`);
  }
  return null;
}

function markEdited() {
  for (const badge of document.querySelectorAll(".edited-by")) badge.remove();
  for (const element of document.querySelectorAll(".being-edited")) element.classList.remove("being-edited");
  if (stale) return;
  for (const person of people()) {
    if (person.you) continue;
    for (const target of person.editing) {
      const element = targetElement(target);
      if (!element) continue;
      const slot = element.querySelector(".card-top, .column-title, .form-title") || element;
      const badge = avatar(person, "edited-by avatar");
      badge.title = `${person.name} is editing this`;
      badge.setAttribute("role", "img");
      badge.setAttribute("aria-label", `${person.name} is editing this`);
      slot.append(badge);
      element.classList.add("being-edited");
    }
  }
}

// --- What this tab is editing --------------------------------------------------------------------

const EDIT_FORM = /^(offer-.+)-edit$|^(stage-.+)-head-edit$/;

function tellEditing() {
  const open = document.querySelectorAll(".editing[id]:not(.deleted)");
  const forms = [...open].filter((el) => EDIT_FORM.test(el.id));
  const focused = forms.find((el) => el.contains(document.activeElement)) || forms[0];
  let editing = null;
  if (focused) {
    const match = EDIT_FORM.exec(focused.id);
    editing = match[1] || match[2];
  }
  document.dispatchEvent(new CustomEvent("blueprint:editing", { detail: { editing } }));
}
