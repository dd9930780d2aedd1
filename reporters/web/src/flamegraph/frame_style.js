// How a frame looks: its label and its colour. Warm colours (red to orange) for the program's
// Python frames, greens for native (C/C++) frames, cool blues for the import system; matches of
// a search stand out, everything else fades while searching. NATIVE_SWATCH and PYTHON_SWATCH
// are the legend's samples of the two families.
import { FLAG_IMPORT_SYSTEM } from "../common/data.js";

export const PYTHON_SWATCH = "hsl(25, 78%, 67%)";
export const NATIVE_SWATCH = "hsl(120, 45%, 62%)";

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
  const light = (ancestor ? 80 : 62) + unit * 10;
  if (frames.isNative(f)) {
    // Greens (hue 95-145): far from both the warm Python and the blue import-system families.
    return `hsl(${(95 + unit * 50).toFixed(1)}, 45%, ${light.toFixed(1)}%)`;
  }
  const cool = frames.flags(f) & FLAG_IMPORT_SYSTEM;
  const hue = cool ? 190 + unit * 40 : unit * 50;
  return `hsl(${hue.toFixed(1)}, ${cool ? 45 : 78}%, ${light.toFixed(1)}%)`;
}
