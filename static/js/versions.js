// The board's version badge (#version-badge): the live version, the one in review, and whether the
// draft has unpublished changes. Publishing and deciding redraw it through the live socket (a
// `version` frame, live.js). An edit makes the draft differ from the newest version, which only the
// server can tell (it compares snapshot hashes), so a while after the board has moved past the rev
// the badge was drawn at, the badge is fetched again: once per burst of edits.

const WAIT_MS = 500;
let timer = 0;
let fetching = false;

function behind() {
  const board = document.getElementById("board");
  const badge = document.getElementById("version-badge");
  return Boolean(board && badge) && Number(board.dataset.rev) > Number(badge.dataset.rev);
}

async function refresh() {
  const badge = document.getElementById("version-badge");
  if (!badge || !badge.dataset.url || fetching) return;
  fetching = true;
  try {
    const response = await fetch(badge.dataset.url, { headers: { "HX-Request": "true" } });
    if (!response.ok) return;
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim();
    const fresh = template.content.firstElementChild;
    const current = document.getElementById("version-badge");
    if (fresh && fresh.id === "version-badge" && current) current.replaceWith(fresh);
    publishFollows();
  } catch {
    // the next edit tries again; the badge is a hint, the versions page is the truth
  } finally {
    fetching = false;
  }
}

// A frame's content lands before live.js moves #board[data-rev] on, so look a moment later.
function soon() {
  clearTimeout(timer);
  timer = setTimeout(() => {
    if (behind()) refresh();
  }, WAIT_MS);
}

// Publish is disabled (aria-disabled on its summary, which then does not open the disclosure)
// while the draft has nothing unpublished; an open disclosure stays open, so the note saying what
// was just published can be read.
function publishFollows() {
  const badge = document.getElementById("version-badge");
  const summary = document.querySelector("#publish > summary");
  if (!badge || !summary) return;
  if (badge.dataset.unpublished === "false") {
    summary.setAttribute("aria-disabled", "true");
    summary.title = "Nothing to publish: the draft has no unpublished changes";
  } else {
    summary.removeAttribute("aria-disabled");
    summary.removeAttribute("title");
  }
}

document.addEventListener("click", (event) => {
  const summary = event.target.closest && event.target.closest("#publish > summary");
  if (summary && summary.getAttribute("aria-disabled") === "true" && !summary.parentElement.open) {
    event.preventDefault();
  }
});

document.addEventListener("blueprint:swapped", () => {
  publishFollows();
  soon();
});
// the answer to Publish carries the badge out of band (htmx)
document.addEventListener("htmx:afterSettle", publishFollows);
publishFollows();
