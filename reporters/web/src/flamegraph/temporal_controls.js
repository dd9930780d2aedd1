// The temporal range selector: two sliders over the time slices (dragging across the memory
// plot sets them too), and a line saying which moment the flame graph shows.
import { el } from "../common/dom.js";
import { formatSize } from "../common/format.js";

export class TemporalControls {
  constructor(container, temporal, onChange) {
    this.temporal = temporal;
    this.onChange = onChange;
    const last = Math.max(0, temporal.sliceCount - 1);
    this.from = el("input", { type: "range", id: "range-from", min: 0, max: last, value: 0 });
    this.to = el("input", { type: "range", id: "range-to", min: 0, max: last, value: last });
    this.text = el("span", { class: "range-text", id: "range-text" });
    const reset = el("button", { type: "button", id: "range-reset", onclick: () => this.set([0, last]) }, "Whole capture");
    this.from.addEventListener("input", () => this.fromSliders("from"));
    this.to.addEventListener("input", () => this.fromSliders("to"));
    container.append(el("div", { class: "temporal-controls" },
      el("label", {}, "From ", this.from), el("label", {}, "to ", this.to), reset, this.text));
    this.describe([0, last]);
  }

  fromSliders(moved) {
    let first = Number(this.from.value);
    let last = Number(this.to.value);
    if (first > last) {
      if (moved === "from") last = first;
      else first = last;
    }
    this.set([first, last]);
  }

  set([first, last]) {
    this.from.value = first;
    this.to.value = last;
    this.describe([first, last]);
    this.onChange([first, last]);
  }

  describe([first, last]) {
    const s = this.temporal.slices;
    const seconds = (ms) => (ms / 1000).toFixed(3) + " s";
    let text = `Showing ${seconds(s.start_ms[first] ?? 0)} to ${seconds(s.end_ms[last] ?? 0)}: `;
    if (this.temporal.kind === "peak") {
      const peak = this.temporal.peakSlice(first, last);
      text += `the peak of that range, ${formatSize(s.heap[peak] ?? 0)} at ${seconds(s.start_ms[peak] ?? 0)}`;
    } else {
      text += "memory allocated in that range and not freed by its end";
    }
    this.text.textContent = text;
  }
}
