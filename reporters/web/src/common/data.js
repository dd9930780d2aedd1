// Reading the report's data (docs/report-data.md is the contract) and the small lookups
// both apps need.

export const FLAG_IMPORT_SYSTEM = 1;
export const FLAG_IRRELEVANT = 2;

export function loadReportData() {
  const element = document.getElementById("memray-data");
  if (!element) throw new Error("this report has no data element");
  const data = JSON.parse(element.textContent);
  if (data.version !== 1) throw new Error(`unsupported report data version ${data.version}`);
  return data;
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
  // "function at file:line", the location format of the table and the stats command.
  location(i) {
    if (i < 0) return "???";
    const file = this.file(i);
    return file ? `${this.func(i)} at ${file}:${this.line(i)}` : this.func(i);
  }
}
