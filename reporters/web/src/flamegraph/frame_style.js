// How a frame looks: its label and its colour. Warm colours for the program's frames, cool ones
// for the import system; matches of a search stand out, everything else fades while searching.
import { FLAG_IMPORT_SYSTEM } from "../common/data.js";

export function basename(path) {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? path : path.slice(slash + 1);
}

export function frameLabel(frames, f) {
  if (f < 0) return "all allocations";
  const file = frames.file(f);
  return file ? `${frames.func(f)}  ${basename(file)}:${frames.line(f)}` : frames.func(f);
}

// A stable pseudo-random number in [0, 1) per function, so a function keeps its colour across
// zooms, filters and reports.
function hashUnit(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) / 4294967296;
}

export function frameColour(frames, f, { matched, searching, ancestor }) {
  if (f < 0) return searching ? "#d9d9d9" : "#c9c9c9";
  if (matched) return "hsl(285, 62%, 68%)";
  const unit = hashUnit(frames.func(f));
  if (searching) return `hsl(30, 8%, ${82 + unit * 8}%)`;
  const cool = frames.flags(f) & FLAG_IMPORT_SYSTEM;
  const hue = cool ? 190 + unit * 40 : unit * 50;
  const light = (ancestor ? 80 : 62) + unit * 10;
  return `hsl(${hue.toFixed(1)}, ${cool ? 45 : 78}%, ${light.toFixed(1)}%)`;
}
