// The table app: one row per allocation site, sortable, searchable and paged.
import "../common/style.css";
import "./table.css";
import { FrameTable, loadReportData } from "../common/data.js";
import { el } from "../common/dom.js";
import { formatCount, formatPercent, formatSize } from "../common/format.js";
import { MemoryPlot } from "../common/memory_plot.js";
import { describeReport, renderMetadataPanel } from "../common/metadata_panel.js";
import { showFatalError } from "../common/fatal_error.js";
import { COLUMNS, TableModel } from "./table_model.js";

const PAGE_SIZES = [25, 50, 100, 500];

function main() {
  const data = loadReportData();
  if (!data.table) throw new Error("this report has no table data");
  const model = new TableModel(data, new FrameTable(data));
  const total = data.metadata.report_bytes;
  let page = 0;
  let pageSize = PAGE_SIZES[1];

  const metadata = el("section", { class: "metadata" });
  const plotBox = el("div", { class: "memory-plot" });
  const searchBox = el("input", { type: "search", id: "search", placeholder: "Search threads, allocators and locations", autocomplete: "off" });
  const sizeSelect = el("select", { id: "page-size" }, PAGE_SIZES.map((n) => el("option", { value: n, selected: n === pageSize }, `${n} rows`)));
  const head = el("tr");
  const body = el("tbody");
  const status = el("span", { class: "page-status", id: "page-status" });
  const previous = el("button", { type: "button", id: "previous-page" }, "‹ Previous");
  const next = el("button", { type: "button", id: "next-page" }, "Next ›");
  document.getElementById("app").replaceChildren(
    el("header", {},
      el("h1", {}, document.title),
      el("p", { class: "subtitle" }, `Allocation sites of ${describeReport(data)}`)),
    metadata,
    el("section", { class: "memory" }, el("h2", {}, "Memory over time"), plotBox),
    el("div", { class: "toolbar" }, searchBox, sizeSelect),
    el("div", { class: "table-box" }, el("table", { id: "allocations" }, el("thead", {}, head), body)),
    el("div", { class: "pager" }, previous, status, next));
  renderMetadataPanel(metadata, data);
  new MemoryPlot(plotBox, { times: data.memory.time_ms, rss: data.memory.rss, heap: data.memory.heap });

  function renderHead() {
    head.replaceChildren(...COLUMNS.map((c) => {
      const sorted = model.sortKey === c.key;
      return el("th", {
        class: (c.numeric ? "numeric " : "") + (sorted ? "sorted" : ""),
        "data-key": c.key,
        "aria-sort": sorted ? (model.descending ? "descending" : "ascending") : "none",
        onclick: () => { model.sortBy(c.key); page = 0; render(); },
      }, c.title, el("span", { class: "arrow" }, sorted ? (model.descending ? " ▼" : " ▲") : ""));
    }));
  }

  function render() {
    renderHead();
    const rows = model.rows;
    const pages = Math.max(1, Math.ceil(rows.length / pageSize));
    page = Math.min(page, pages - 1);
    const start = page * pageSize;
    const shown = rows.slice(start, start + pageSize);
    const c = model.columns;
    body.replaceChildren(...shown.map((i) => el("tr", {},
      el("td", {}, c.thread[i]),
      el("td", { class: "numeric", title: `${formatCount(c.bytes[i])} bytes, ${formatPercent(c.bytes[i], total)}` }, formatSize(c.bytes[i])),
      el("td", {}, c.allocator[i]),
      el("td", { class: "numeric" }, formatCount(c.count[i])),
      el("td", { class: "location" }, c.native[i] ? el("span", { class: "native-badge" }, "[native]") : null, c.location[i]))));
    if (!shown.length) body.append(el("tr", {}, el("td", { colspan: COLUMNS.length, class: "empty" }, "No allocation site matches.")));
    status.textContent = rows.length
      ? `Rows ${formatCount(start + 1)}–${formatCount(start + shown.length)} of ${formatCount(rows.length)}` +
        (rows.length !== model.all.length ? ` (filtered from ${formatCount(model.all.length)})` : "")
      : "No rows";
    previous.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  let timer = null;
  searchBox.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { model.filter(searchBox.value); page = 0; render(); }, 120);
  });
  sizeSelect.addEventListener("change", () => { pageSize = Number(sizeSelect.value); page = 0; render(); });
  previous.addEventListener("click", () => { page--; render(); });
  next.addEventListener("click", () => { page++; render(); });

  window.memrayTable = { model };
  render();
  performance.mark("memray-rendered");
  document.documentElement.dataset.rendered = "true";
}

try {
  main();
} catch (error) {
  showFatalError(error);
}
