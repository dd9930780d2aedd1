// RSS and tracked heap over time, drawn with uPlot (small and fast on 10,000 points). With
// `onSelect`, dragging across the plot picks a time range (the temporal flame graph's slider).
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatSize } from "./format.js";

const RSS_COLOUR = "#4c78a8";
const HEAP_COLOUR = "#e45756";

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
    const seconds = times.map((t) => t / 1000);
    const plot = this;
    const options = {
      width: Math.max(300, container.clientWidth || 600),
      height: 150,
      legend: { live: true },
      cursor: { drag: { x: Boolean(onSelect), y: false, setScale: false } },
      scales: { x: { time: false } },
      axes: [
        { label: "seconds since the capture started", labelSize: 20, labelFont: "12px system-ui, sans-serif" },
        { size: 80, values: (u, ticks) => ticks.map((t) => formatSize(t)) },
      ],
      series: [
        { label: "time", value: (u, v) => (v === null ? "-" : v.toFixed(3) + " s") },
        { label: "RSS", stroke: RSS_COLOUR, width: 1.5, points: { show: false }, value: (u, v) => (v === null ? "-" : formatSize(v)) },
        { label: "heap", stroke: HEAP_COLOUR, fill: "rgba(228,87,86,0.12)", width: 1.5, points: { show: false }, value: (u, v) => (v === null ? "-" : formatSize(v)) },
      ],
      hooks: {
        draw: [(u) => plot.drawOverlays(u)],
        setSelect: onSelect
          ? [
              (u) => {
                if (u.select.width < 2) return;
                const from = u.posToVal(u.select.left, "x") * 1000;
                const to = u.posToVal(u.select.left + u.select.width, "x") * 1000;
                u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
                onSelect(from, to);
              },
            ]
          : [],
      },
    };
    this.uplot = new uPlot(options, [seconds, rss, heap], container);
    // Follow the container's width: the page is responsive.
    new ResizeObserver(() => {
      const width = Math.max(300, container.clientWidth);
      if (this.uplot && width !== this.uplot.width) this.uplot.setSize({ width, height: 150 });
    }).observe(container);
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
      const left = u.valToPos(this.range[0] / 1000, "x", true);
      const right = u.valToPos(this.range[1] / 1000, "x", true);
      ctx.fillStyle = "rgba(76,120,168,0.12)";
      ctx.fillRect(left, top, Math.max(1, right - left), height);
    }
    if (this.marker !== null) {
      const x = u.valToPos(this.marker / 1000, "x", true);
      ctx.strokeStyle = "#222";
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
    }
    ctx.restore();
  }
}
