// The table's rows as plain values, and the sorting, filtering and paging over them. Rows are
// kept as an index array so sorting 100,000 sites never copies the data.
export const COLUMNS = [
  { key: "thread", title: "Thread", numeric: false },
  { key: "bytes", title: "Size", numeric: true },
  { key: "allocator", title: "Allocator", numeric: false },
  { key: "count", title: "Allocations", numeric: true },
  { key: "location", title: "Location", numeric: false },
];

export class TableModel {
  constructor(data, frames) {
    const t = data.table;
    const n = t.bytes.length;
    this.columns = {
      thread: t.thread.map((i) => data.threads[i] ?? ""),
      bytes: t.bytes,
      allocator: t.allocator.map((i) => data.strings[i]),
      count: t.count,
      location: t.frame.map((f) => frames.location(f)),
      native: t.frame.map((f) => frames.isNative(f)),  // the site is a C/C++ frame
    };
    // "[native]" is searchable, so typing "native" lists the sites in C/C++ code.
    this.searchText = Array.from({ length: n }, (_, i) =>
      `${this.columns.thread[i]}\n${this.columns.allocator[i]}\n${this.columns.native[i] ? "[native] " : ""}${this.columns.location[i]}`.toLowerCase());
    this.all = Array.from({ length: n }, (_, i) => i);
    this.sortKey = "bytes";
    this.descending = true;
    this.query = "";
    this.refresh();
  }

  sortBy(key) {
    if (this.sortKey === key) this.descending = !this.descending;
    else {
      this.sortKey = key;
      this.descending = COLUMNS.find((c) => c.key === key).numeric;  // numbers: largest first
    }
    this.refresh();
  }

  filter(query) {
    this.query = query.trim().toLowerCase();
    this.refresh();
  }

  refresh() {
    const values = this.columns[this.sortKey];
    const sign = this.descending ? -1 : 1;
    const numeric = COLUMNS.find((c) => c.key === this.sortKey).numeric;
    const compare = numeric
      ? (a, b) => sign * (values[a] - values[b]) || a - b
      : (a, b) => sign * (values[a] < values[b] ? -1 : values[a] > values[b] ? 1 : 0) || a - b;
    const q = this.query;
    this.rows = (q ? this.all.filter((i) => this.searchText[i].includes(q)) : this.all.slice()).sort(compare);
  }
}
