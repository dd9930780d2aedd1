// The capture's facts (command, pid, times, totals...) shown above either app, and the warnings
// a reader must not miss.
import { el } from "./dom.js";
import { formatCount, formatDuration, formatSize, formatTimestamp } from "./format.js";

const REPORT_DESCRIPTIONS = {
  peak: "memory live at the peak of the tracked heap",
  leaks: "memory still live when the capture ended (leaks)",
  temporary: "temporary allocations",
};

export function describeReport(data) {
  const m = data.metadata;
  if (data.report === "temporary") {
    return `temporary allocations (freed within ${m.temporary_threshold ?? 1} allocation(s) of being made)`;
  }
  return REPORT_DESCRIPTIONS[data.report] || data.report;
}

export function renderMetadataPanel(container, data) {
  const m = data.metadata;
  const facts = [
    ["Report", describeReport(data)],
    ["Shown", `${formatSize(m.report_bytes)} in ${formatCount(m.report_allocations)} allocations`],
    ["Peak heap", formatSize(m.peak_bytes)],
    ["Total allocated", `${formatSize(m.total_bytes)} in ${formatCount(m.total_allocations)} allocations`],
    ["Command", m.command_line || "unknown"],
    ["PID", m.pid ?? "unknown"],
    ["Python", m.python_version || "unknown"],
    ["Started", formatTimestamp(m.start_time_ms)],
    ["Duration", m.duration_ms === undefined || m.duration_ms === null ? "unknown" : formatDuration(m.duration_ms)],
    ["Capture", m.capture_file || ""],
    ["Python allocators traced", m.trace_python_allocators ? "yes" : "no"],
    ["Native stacks", m.native ? "yes" : "no"],
    ["Aggregated (--aggregate)", m.aggregated ? "yes" : "no"],
  ];
  const list = el("dl", { class: "facts" });
  const wide = new Set(["Report", "Total allocated", "Command", "Capture"]);
  const long = new Set(["Command", "Capture"]);
  for (const [key, value] of facts) {
    const classes = ["fact", wide.has(key) ? "wide" : "", long.has(key) ? "long" : ""].filter(Boolean).join(" ");
    list.append(el("div", { class: classes }, el("dt", {}, key), el("dd", { title: String(value) }, String(value))));
  }
  container.replaceChildren(list);

  const warnings = [];
  if (m.ended_abruptly) {
    warnings.push("The tracked process ended abruptly (it was killed, or crashed): this report covers the capture up to where it stops.");
  }
  if (m.aggregated && m.ended_abruptly) {
    warnings.push("This capture was made with --aggregate: the report shows its last complete checkpoint, up to about a second before the process stopped.");
  }
  if (data.report === "leaks" && !m.trace_python_allocators) {
    warnings.push("Python allocators were not traced (no --trace-python-allocators): memory kept by pymalloc's pools may show up as leaks.");
  }
  for (const text of warnings) container.prepend(el("div", { class: "warning", role: "alert" }, text));
}
