// Reading the report's data (docs/report-data.md is the contract) and the small lookups
// both apps need.

export const FLAG_IMPORT_SYSTEM = 1;
export const FLAG_IRRELEVANT = 2;
export const FLAG_NATIVE = 4;  // a C/C++ frame of a --native capture
export const FLAG_UNNAMED_INTERPRETER = 8;  // an unnamed native frame of the interpreter itself

export function loadReportData() {
  const element = document.getElementById("memray-data");
  if (!element) throw new Error("this report has no data element");
  const data = JSON.parse(element.textContent);
  if (data.version !== 1) throw new Error(`unsupported report data version ${data.version}`);
  data.nodes = expandNodes(data.nodes, data.self);
  return data;
}

// The file stores the tree compactly (parent offsets, no thread column when threads are merged,
// self usage only where there is some); the apps work on one full column per field:
// {parent, frame, thread, self_bytes, self_count}.
export function expandNodes(stored, self) {
  const n = stored.frame.length;
  const parent = new Int32Array(n);
  const offsets = stored.parent_offset;
  parent[0] = -1;
  for (let i = 1; i < n; i++) parent[i] = i - offsets[i];
  const thread = stored.thread.length === n ? Int32Array.from(stored.thread) : new Int32Array(n);
  const selfBytes = new Float64Array(n);
  const selfCount = new Float64Array(n);
  for (let k = 0; k < self.node.length; k++) {
    selfBytes[self.node[k]] = self.bytes[k];
    selfCount[self.node[k]] = self.count[k];
  }
  return { parent, frame: stored.frame, thread, self_bytes: selfBytes, self_count: selfCount };
}

// Accessors over the columnar frame table, so callers never index the arrays by hand.
export class FrameTable {
  constructor(data) {
    this.strings = data.strings;
    this.frames = data.frames;
  }
  get length() {
    return this.frames.function.length;
  }
  func(i) {
    return i < 0 ? "<root>" : this.strings[this.frames.function[i]];
  }
  file(i) {
    return i < 0 ? "" : this.strings[this.frames.file[i]];
  }
  line(i) {
    return i < 0 ? 0 : this.frames.line[i];
  }
  source(i) {
    return i < 0 ? "" : this.strings[this.frames.source[i]];
  }
  flags(i) {
    return i < 0 ? 0 : this.frames.flags[i];
  }
  isNative(i) {
    return (this.flags(i) & FLAG_NATIVE) !== 0;
  }
  // "function at file:line", the location format of the table and the stats command.
  location(i) {
    if (i < 0) return "???";
    const file = this.file(i);
    return file ? `${this.func(i)} at ${file}:${this.line(i)}` : this.func(i);
  }
}
