// RSS and tracked heap over time, drawn with uPlot (small and fast on 10,000 points): round
// ticks with units on both axes, the heap's peak marked, and the time, heap and RSS under the
// cursor in a tooltip. The tick labels, the peak marker and the tooltip are DOM elements laid
// over the canvas (uPlot draws the lines and the grid), so the page lays them out like any text
// and they can be measured. With `onSelect`, dragging across the plot picks a time range (the
// temporal flame graph's slider).
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { el } from "./dom.js";
import { formatSizeShort } from "./format.js";
import { byteTicks, timeTicks } from "./plot_ticks.js";

const RSS_COLOUR = "#4c78a8";
const HEAP_COLOUR = "#e45756";
const LABEL_FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const X_AXIS_HEIGHT = 26;    // tick marks and one line of labels
const LABEL_GAP = 8;         // between a y label and the plot
const Y_TICK_SPACING = 45;   // about one y tick per this many pixels of height
const X_TICK_SPACING = 75;   // and one x tick per this many of width

// The height of the whole chart (axes included) for a container of this width.
function chartHeight(width) {
  return width < 600 ? 220 : 280;
}

function widest(labels) {
  const context = widest.canvas || (widest.canvas = document.createElement("canvas").getContext("2d"));
  context.font = LABEL_FONT;
  return Math.ceil(Math.max(0, ...labels.map((label) => context.measureText(label).width)));
}

export class MemoryPlot {
  // times in ms since the capture started; rss and heap in bytes, same length.
  constructor(container, { times, rss, heap, onSelect = null }) {
    this.container = container;
    this.marker = null;  // a time (ms) to mark with a vertical line, e.g. the chosen peak
    this.range = null;   // [from ms, to ms] to shade, e.g. the temporal range
    if (!times.length) {
      container.replaceChildren(document.createTextNode("No memory samples in this capture."));
      container.classList.add("empty");
      return;
    }
    this.times = times;
    this.rss = rss;
    this.heap = heap;
    this.highest = Math.max(0, ...rss, ...heap);
    this.peakIndex = heap.reduce((best, value, i) => (value > heap[best] ? i : best), 0);
    this.yTicks = byteTicks(this.highest, 4);
    this.xTicks = [];

    const plot = this;
    const width = Math.max(300, container.clientWidth || 600);
    const options = {
      width,
      height: chartHeight(width),
      padding: [12, 12, 0, 0],
      legend: { show: true, live: false },
      cursor: { drag: { x: Boolean(onSelect), y: false, setScale: false }, points: { size: 7 } },
      scales: {
        x: { time: false, range: () => [times[0], Math.max(times[times.length - 1], times[0] + 1)] },
        y: { range: () => [0, plot.yTicks.top] },
      },
      axes: [
        {
          size: X_AXIS_HEIGHT,
          splits: (u) => {
            // From the chart's width (set before any layout pass; the plotting area's is not).
            const intervals = Math.max(2, Math.floor((u.width - 80) / X_TICK_SPACING));
            plot.xTicks = timeTicks(u.scales.x.min, u.scales.x.max, intervals);
            return plot.xTicks.map((t) => t.value);
          },
          values: (u, splits) => splits.map(() => ""),
        },
        {
          size: () => widest(plot.yTicks.ticks.map((t) => t.label)) + LABEL_GAP + 4,
          splits: () => plot.yTicks.ticks.map((t) => t.value),
          values: (u, splits) => splits.map(() => ""),
        },
      ],
      series: [
        { label: "time" },
        { label: "RSS", stroke: RSS_COLOUR, width: 1.5, points: { show: false } },
        { label: "heap", stroke: HEAP_COLOUR, fill: "rgba(228,87,86,0.12)", width: 1.5, points: { show: false } },
      ],
      hooks: {
        // Ticks follow the height: recomputed before the axes are laid out.
        setSize: [(u) => plot.fitTicks(u.height)],
        draw: [(u) => { plot.drawOverlays(u); plot.placeLabels(u); }],
        setCursor: [(u) => plot.showValues(u)],
        setSelect: onSelect
          ? [
              (u) => {
                if (u.select.width < 2) return;
                const from = u.posToVal(u.select.left, "x");
                const to = u.posToVal(u.select.left + u.select.width, "x");
                u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
                onSelect(from, to);
              },
            ]
          : [],
      },
    };
    this.fitTicks(options.height);
    container.replaceChildren();
    this.uplot = new uPlot(options, [times, rss, heap], container);
    const wrap = this.uplot.over.parentElement;
    this.labels = el("div", { class: "plot-labels", "aria-hidden": "true" });
    this.peakMarker = el("div", { class: "peak-marker", title: "the tracked heap's peak" });
    this.peakLabel = el("div", { class: "peak-label" });
    this.tooltip = el("div", { class: "plot-tooltip", hidden: true });
    wrap.append(this.labels, this.peakMarker, this.peakLabel, this.tooltip);
    this.placeLabels(this.uplot);
    // Follow the container's width: the page is responsive.
    new ResizeObserver(() => {
      const newWidth = Math.max(300, container.clientWidth);
      if (this.uplot && newWidth !== this.uplot.width) this.uplot.setSize({ width: newWidth, height: chartHeight(newWidth) });
    }).observe(container);
    container.memoryPlot = this;  // for the browser tests
  }

  fitTicks(height) {
    const plotHeight = height - X_AXIS_HEIGHT - 12;
    this.yTicks = byteTicks(this.highest, Math.max(2, Math.floor(plotHeight / Y_TICK_SPACING)));
  }

  setOverlays({ marker = null, range = null }) {
    this.marker = marker;
    this.range = range;
    if (this.uplot) this.uplot.redraw(false);
  }

  drawOverlays(u) {
    const ctx = u.ctx;
    const { top, height } = u.bbox;
    ctx.save();
    if (this.range) {
      const left = u.valToPos(this.range[0], "x", true);
      const right = u.valToPos(this.range[1], "x", true);
      ctx.fillStyle = "rgba(76,120,168,0.12)";
      ctx.fillRect(left, top, Math.max(1, right - left), height);
    }
    if (this.marker !== null) {
      const x = u.valToPos(this.marker, "x", true);
      ctx.strokeStyle = "#222";
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
    }
    ctx.restore();
  }

  // The tick labels and the peak marker, in the coordinates of uPlot's wrapper (the plotting
  // area is u.over inside it). Labels never leave the wrapper: the first and last x labels are
  // pushed in rather than centred past its edges, the lowest y label is lifted off the x axis.
  placeLabels(u) {
    if (!this.labels) return;
    const wrap = u.over.parentElement;
    const left = u.over.offsetLeft;
    const top = u.over.offsetTop;
    const plotWidth = u.over.clientWidth;
    const plotHeight = u.over.clientHeight;
    const labels = [];
    for (const tick of this.yTicks.ticks) {
      const label = el("span", { class: "tick-label y", "data-value": tick.value }, tick.label);
      label.style.right = `${wrap.clientWidth - left + LABEL_GAP}px`;
      label.style.top = `${top + u.valToPos(tick.value, "y")}px`;
      labels.push(label);
    }
    for (const tick of this.xTicks) {
      const label = el("span", { class: "tick-label x", "data-value": tick.value }, tick.label);
      label.style.left = `${left + u.valToPos(tick.value, "x")}px`;
      label.style.top = `${top + plotHeight + 6}px`;
      labels.push(label);
    }
    this.labels.replaceChildren(...labels);
    for (const label of labels) {
      // Centred on the tick, then kept inside the wrapper.
      const box = label.getBoundingClientRect();
      if (label.classList.contains("x")) {
        const centred = parseFloat(label.style.left) - box.width / 2;
        label.style.left = `${Math.min(Math.max(0, centred), wrap.clientWidth - box.width)}px`;
      } else {
        // The bottom one rests on the x axis rather than straddling it, clear of the "0 s" below.
        const centred = parseFloat(label.style.top) - box.height / 2;
        label.style.top = `${Math.min(Math.max(0, centred), top + plotHeight - box.height)}px`;
      }
    }

    const peak = this.heap[this.peakIndex];
    this.peakMarker.hidden = this.peakLabel.hidden = !(peak > 0);
    if (peak > 0) {
      const x = left + u.valToPos(this.times[this.peakIndex], "x");
      const y = top + u.valToPos(peak, "y");
      this.peakMarker.style.left = `${x}px`;
      this.peakMarker.style.top = `${y}px`;
      this.peakMarker.dataset.value = peak;
      this.peakMarker.dataset.time = this.times[this.peakIndex];
      this.peakLabel.textContent = `peak heap ${formatSizeShort(peak)}`;
      // Beside the marker, on whichever side has room, and inside the plotting area.
      const box = this.peakLabel.getBoundingClientRect();
      const onLeft = x + 10 + box.width > left + plotWidth;
      this.peakLabel.style.left = `${onLeft ? Math.max(left, x - 10 - box.width) : x + 10}px`;
      this.peakLabel.style.top = `${Math.min(Math.max(top, y - box.height - 4), top + plotHeight - box.height)}px`;
    }
  }

  // The time, heap and RSS of the sample under the cursor, beside it.
  showValues(u) {
    const index = u.cursor.idx;
    if (index === null || index === undefined || u.cursor.left < 0) {
      this.tooltip.hidden = true;
      return;
    }
    const seconds = this.times[index] / 1000;
    this.tooltip.replaceChildren(
      el("div", { class: "plot-tooltip-time" }, `${seconds.toFixed(3)} s`),
      el("div", {}, el("span", { class: "key heap" }), `heap ${formatSizeShort(this.heap[index])}`),
      el("div", {}, el("span", { class: "key rss" }), `RSS ${formatSizeShort(this.rss[index])}`));
    this.tooltip.dataset.index = index;
    this.tooltip.hidden = false;
    const wrap = u.over.parentElement;
    const x = u.over.offsetLeft + u.cursor.left;
    const y = u.over.offsetTop + u.cursor.top;
    const box = this.tooltip.getBoundingClientRect();
    const onLeft = x + 14 + box.width > wrap.clientWidth;
    this.tooltip.style.left = `${onLeft ? x - 14 - box.width : x + 14}px`;
    this.tooltip.style.top = `${Math.max(0, Math.min(y - box.height / 2, wrap.clientHeight - box.height))}px`;
  }
}
