// The blueprint diagram page: zoom and pan the inline SVG with @panzoom/panzoom (from npm,
// served by staticfiles; its URL is the page's data-panzoom-url). Drag to pan, wheel or the
// buttons (and +, −, 0 on the keyboard) to zoom; "Fit" shows the whole diagram. Printing ignores
// all of this (static/css/exports.css prints the SVG whole on A3 landscape).
const page = document.querySelector(".diagram-page");
const viewport = document.getElementById("diagram-viewport");
const canvas = document.getElementById("diagram-canvas");
const svg = canvas ? canvas.querySelector("svg") : null;

async function start() {
  if (!page || !viewport || !canvas || !svg) return;
  const { default: Panzoom } = await import(page.dataset.panzoomUrl);
  // the SVG keeps its natural size (dot's points); panzoom scales the canvas around it
  const width = svg.viewBox.baseVal.width || svg.getBBox().width;
  const height = svg.viewBox.baseVal.height || svg.getBBox().height;
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  const MIN_SCALE = 0.02;
  const MAX_SCALE = 4;
  const panzoom = Panzoom(canvas, { maxScale: MAX_SCALE, minScale: MIN_SCALE, step: 0.2, canvas: true, origin: "0 0" });

  function fit() {
    const scale = Math.min(viewport.clientWidth / width, viewport.clientHeight / height, 1);
    panzoom.zoom(scale, { animate: false, force: true });
    setTimeout(() => panzoom.pan(0, 0, { animate: false, force: true }));
  }

  // the buttons and keys zoom about the middle of what is shown, as the wheel does about the
  // pointer. Panzoom draws scale(s) translate(x, y) from the top-left corner, so the point in the
  // middle stays put when the pan becomes middle/s2 − middle/s1 + pan.
  function zoomBy(factor) {
    const before = panzoom.getScale();
    const after = Math.min(MAX_SCALE, Math.max(MIN_SCALE, before * factor));
    const { x, y } = panzoom.getPan();
    const midX = viewport.clientWidth / 2;
    const midY = viewport.clientHeight / 2;
    panzoom.zoom(after, { animate: false, force: true });
    setTimeout(() => panzoom.pan(midX / after - midX / before + x, midY / after - midY / before + y, { animate: false, force: true }));
  }
  const STEP = 1.25;

  viewport.addEventListener("wheel", (event) => {
    if (!event.ctrlKey && !event.metaKey && Math.abs(event.deltaX) > Math.abs(event.deltaY)) return;
    panzoom.zoomWithWheel(event);
  }, { passive: false });
  document.querySelectorAll("[data-zoom]").forEach((button) => {
    button.addEventListener("click", () => {
      const what = button.dataset.zoom;
      if (what === "in") zoomBy(STEP);
      else if (what === "out") zoomBy(1 / STEP);
      else fit();
    });
  });
  viewport.addEventListener("keydown", (event) => {
    if (event.key === "+" || event.key === "=") zoomBy(STEP);
    else if (event.key === "-") zoomBy(1 / STEP);
    else if (event.key === "0") fit();
    else return;
    event.preventDefault();
  });
  fit();
  page.dataset.ready = "true";
}

start();
