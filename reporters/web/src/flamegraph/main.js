// The flame graph app: wires the data, the controls, the canvas and the memory plot together.
import "../common/style.css";
import "./flamegraph.css";
import { FrameTable, loadReportData } from "../common/data.js";
import { el } from "../common/dom.js";
import { formatCount, formatPercent, formatSize } from "../common/format.js";
import { MemoryPlot } from "../common/memory_plot.js";
import { describeReport, renderMetadataPanel } from "../common/metadata_panel.js";
import { showFatalError } from "../common/fatal_error.js";
import { CanvasRenderer } from "./canvas_renderer.js";
import { NATIVE_SWATCH, PYTHON_SWATCH, frameColour, frameLabel } from "./frame_style.js";
import { searchMatches } from "./search.js";
import { TemporalData } from "./temporal.js";
import { TemporalControls } from "./temporal_controls.js";
import { Tooltip } from "./tooltip.js";
import { buildViewTree } from "./view_tree.js";

function main() {
  const data = loadReportData();
  performance.mark("memray-parsed");
  const frames = new FrameTable(data);
  const state = {
    hideIrrelevant: true,
    hideImportSystem: false,
    thread: 0,
    inverted: Boolean(data.inverted),
    search: "",
    range: null,  // temporal: [first slice, last slice]; null: the whole capture
  };
  let tree = null;
  let focus = 0;
  let matches = null;
  let renderCount = 0;

  // ---- page skeleton ----
  const metadata = el("section", { class: "metadata" });
  const plotBox = el("div", { class: "memory-plot" });
  const searchBox = el("input", { type: "search", id: "search", placeholder: "Search functions and files", autocomplete: "off" });
  const matchInfo = el("span", { class: "match-info", id: "match-info" });
  const toggle = (id, text, checked, onChange, title) =>
    el("label", { class: "toggle", title },
      el("input", { type: "checkbox", id, checked, onchange: (e) => onChange(e.target.checked) }), text);
  const threadSelect = data.split_threads
    ? el("select", { id: "thread-filter", onchange: (e) => update({ thread: Number(e.target.value) }) },
        data.threads.map((name, i) => el("option", { value: i }, name)))
    : null;
  const resetButton = el("button", { id: "reset-zoom", type: "button", onclick: () => setZoom(null) }, "Reset zoom");
  const breadcrumbs = el("nav", { class: "breadcrumbs", id: "breadcrumbs" });
  // Native captures mix C/C++ and Python frames: say which colour is which.
  const swatch = (colour) => el("span", { class: "swatch", style: `background: ${colour}` });
  const legend = data.metadata.native
    ? el("span", { class: "legend", id: "frame-legend" }, swatch(PYTHON_SWATCH), "Python", swatch(NATIVE_SWATCH), "native (C/C++)")
    : null;
  const canvas = el("canvas", { id: "flamegraph", "data-testid": "flamegraph" });
  const chart = el("div", { class: "chart" }, canvas);
  const app = document.getElementById("app");
  app.replaceChildren(
    el("header", {},
      el("h1", {}, document.title),
      el("p", { class: "subtitle" }, `Flame graph of ${describeReport(data)}`)),
    metadata,
    el("section", { class: "memory" }, el("h2", {}, "Memory over time"), plotBox),
    el("div", { class: "toolbar" },
      searchBox, matchInfo,
      toggle("hide-irrelevant", "Hide irrelevant frames", state.hideIrrelevant, (v) => update({ hideIrrelevant: v }),
        "Program start-up, and the interpreter's own native frames that have no name"),
      toggle("hide-import-system", "Hide import system frames", state.hideImportSystem, (v) => update({ hideImportSystem: v })),
      toggle("inverted", "Inverted (callers of allocating functions)", state.inverted, (v) => update({ inverted: v })),
      threadSelect ? el("label", { class: "toggle" }, "Thread ", threadSelect) : null,
      resetButton, legend),
    breadcrumbs,
    chart,
    el("p", { class: "hint" }, "Click a frame to zoom in, the top row or Esc to zoom out, the browser's back button to undo a zoom."));
  renderMetadataPanel(metadata, data);

  // ---- memory plot, and the temporal range ----
  const temporal = data.temporal ? new TemporalData(data) : null;
  let plot;
  let controls = null;
  if (temporal) {
    const s = data.temporal.slices;
    plot = new MemoryPlot(plotBox, {
      times: s.start_ms, rss: s.rss, heap: s.heap,
      onSelect: (fromMs, toMs) => {
        const range = temporal.slicesBetween(fromMs, toMs);
        if (range) controls.set(range);
      },
    });
    controls = new TemporalControls(plotBox.parentElement, temporal, (range) => update({ range }));
  } else {
    plot = new MemoryPlot(plotBox, { times: data.memory.time_ms, rss: data.memory.rss, heap: data.memory.heap });
  }

  // ---- drawing ----
  const renderer = new CanvasRenderer(canvas, {
    label: (v) => frameLabel(frames, tree.frame[v]),
    colour: (v, look) => frameColour(frames, tree.frame[v], look),
  });

  function rebuild() {
    let bytes = data.nodes.self_bytes;
    let count = data.nodes.self_count;
    if (temporal && state.range) ({ bytes, count } = temporal.usage(state.range[0], state.range[1]));
    tree = buildViewTree(data, bytes, count, state);
    performance.mark("memray-tree-built");
    if (temporal && plot) {
      const [first, last] = state.range || [0, temporal.sliceCount - 1];
      const s = data.temporal.slices;
      plot.setOverlays({
        range: [s.start_ms[first], s.end_ms[last]],
        marker: data.report === "peak" && temporal.sliceCount ? s.start_ms[temporal.peakSlice(first, last)] : null,
      });
    }
    applyHash();
  }

  function render() {
    matches = searchMatches(tree, frames, state.search);
    renderer.draw(tree, focus, matches ? matches.matched : null);
    const total = tree.totalBytes[0];
    matchInfo.textContent = matches
      ? `${formatCount(matches.count)} frames match: ${formatSize(matches.bytes)} (${formatPercent(matches.bytes, total)} of ${formatSize(total)})`
      : `${formatSize(total)} in ${formatCount(tree.totalCount[0])} allocations`;
    renderBreadcrumbs();
    resetButton.disabled = focus === 0;
    renderCount++;
    canvas.dataset.renderCount = renderCount;
    if (renderCount === 1) {
      performance.mark("memray-rendered");
      document.documentElement.dataset.rendered = "true";
    }
  }

  function renderBreadcrumbs() {
    const path = [];
    for (let v = focus; v >= 0; v = tree.parent[v]) path.unshift(v);
    breadcrumbs.replaceChildren(...path.flatMap((v, i) => [
      el("span", { class: "separator" }, i ? "›" : "Zoom:"),
      el("a", { href: v === 0 ? "#" : "#zoom=" + tree.framePath(v).join(".") }, v === 0 ? "all" : frames.func(tree.frame[v])),
    ]));
  }

  // ---- zoom through the URL fragment, so the back button undoes a zoom ----
  function setZoom(node) {
    // Assigning the fragment adds a history entry and fires hashchange, which redraws.
    const hash = node === null || node === 0 ? "" : "zoom=" + tree.framePath(node).join(".");
    if (hash !== location.hash.replace(/^#/, "")) location.hash = hash;
  }

  function applyHash() {
    const match = /^#zoom=([\d.]+)$/.exec(location.hash);
    focus = 0;
    if (match) {
      const node = tree.findPath(match[1].split(".").map(Number));
      if (node > 0) focus = node;
    }
    render();
  }

  function update(changes) {
    Object.assign(state, changes);
    rebuild();
  }

  window.addEventListener("hashchange", applyHash);
  window.addEventListener("popstate", applyHash);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.activeElement !== searchBox) setZoom(null);
  });
  let searchTimer = null;
  searchBox.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.search = searchBox.value.trim(); render(); }, 120);
  });
  searchBox.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { searchBox.value = ""; state.search = ""; render(); }
  });

  const tooltip = new Tooltip(document.body);
  const pointAt = (e) => {
    const rect = canvas.getBoundingClientRect();
    return renderer.boxAt(e.clientX - rect.left, e.clientY - rect.top);
  };
  canvas.addEventListener("click", (e) => {
    const box = pointAt(e);
    if (box) setZoom(box.ancestor || box.node === focus ? tree.parent[box.node] : box.node);
  });
  canvas.addEventListener("mousemove", (e) => {
    const box = pointAt(e);
    if (!box) return tooltip.hide();
    canvas.style.cursor = "pointer";
    tooltip.show(e.clientX, e.clientY, tooltipContent(box.node));
  });
  canvas.addEventListener("mouseleave", () => tooltip.hide());

  function tooltipContent(v) {
    const f = tree.frame[v];
    const total = tree.totalBytes[0];
    const rows = [
      el("div", { class: "tt-function" }, v === 0 ? "All allocations" : frames.func(f),
        frames.isNative(f) ? el("span", { class: "native-badge" }, "[native]") : null),
      f >= 0 && frames.file(f) ? el("div", { class: "tt-location" }, `${frames.file(f)}:${frames.line(f)}`) : null,
      f >= 0 && frames.source(f) ? el("pre", { class: "tt-source" }, frames.source(f)) : null,
      el("div", {}, `${formatSize(tree.totalBytes[v])} (${formatPercent(tree.totalBytes[v], total)} of the total)`),
      el("div", {}, `${formatCount(tree.totalCount[v])} allocations`),
      !state.inverted && tree.selfBytes[v] > 0 ? el("div", {}, `${formatSize(tree.selfBytes[v])} allocated here`) : null,
      data.split_threads && v > 0 ? el("div", {}, `Thread: ${data.threads[tree.thread[v]]}`) : null,
    ];
    return rows;
  }

  new ResizeObserver(() => { if (tree) render(); }).observe(chart);

  // A hook for tests and curious users: what is drawn where (canvas text is not in the DOM).
  window.memrayFlamegraph = {
    state,
    rendered: () => renderer.drawn.map((b) => ({
      label: b.text ?? "",
      function: b.node === 0 ? "" : frames.func(tree.frame[b.node]),
      file: b.node === 0 ? "" : frames.file(tree.frame[b.node]),
      native: b.node !== 0 && frames.isNative(tree.frame[b.node]),
      x: b.x, y: b.y, w: b.w, highlighted: b.highlighted, ancestor: b.ancestor,
    })),
    focus: () => (focus === 0 ? null : frames.func(tree.frame[focus])),
    totalBytes: () => tree.totalBytes[0],
  };

  rebuild();
}

try {
  main();
} catch (error) {
  showFatalError(error);
}
