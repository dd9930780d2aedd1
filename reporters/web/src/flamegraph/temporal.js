// The self usage of every report node for a range of time slices [first, last], exactly as
// docs/report-data.md defines it (the C++ side's reader::usageInRange computes the same).
export class TemporalData {
  constructor(data) {
    const t = data.temporal;
    this.kind = data.report;  // "peak" or "leaks"
    this.slices = t.slices;
    this.intervals = t.intervals;
    this.nodeCount = data.nodes.parent.length;
  }

  get sliceCount() {
    return this.slices.start_ms.length;
  }

  // Peak: the slice in [first, last] with the highest heap, the latest on a tie.
  peakSlice(first, last) {
    const heap = this.slices.heap;
    let best = first;
    for (let s = first; s <= last; s++) if (heap[s] >= heap[best]) best = s;
    return best;
  }

  // Slices whose time span meets [fromMs, toMs], as an inclusive index range.
  slicesBetween(fromMs, toMs) {
    const { start_ms: start, end_ms: end } = this.slices;
    let first = -1;
    let last = -1;
    for (let s = 0; s < start.length; s++) {
      if (end[s] >= fromMs && start[s] <= toMs) {
        if (first < 0) first = s;
        last = s;
      }
    }
    return first < 0 ? null : [first, last];
  }

  usage(first, last) {
    const bytes = new Float64Array(this.nodeCount);
    const count = new Float64Array(this.nodeCount);
    const { node, from, to, bytes: intervalBytes, count: intervalCount } = this.intervals;
    const n = node.length;
    if (this.kind === "leaks") {
      for (let i = 0; i < n; i++) {
        if (from[i] >= first && from[i] <= last && (to[i] === -1 || to[i] > last)) {
          bytes[node[i]] += intervalBytes[i];
          count[node[i]] += intervalCount[i];
        }
      }
    } else {
      const s = this.peakSlice(first, last);
      for (let i = 0; i < n; i++) {
        if (from[i] <= s && (to[i] === -1 || s < to[i])) {
          bytes[node[i]] += intervalBytes[i];
          count[node[i]] += intervalCount[i];
        }
      }
    }
    return { bytes, count };
  }
}
