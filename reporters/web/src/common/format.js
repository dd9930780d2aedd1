// Human-readable numbers, matching the memray command line (reader/src/size_format.cpp):
// SI units (1 kB = 1000 B) with three decimals, e.g. "4.000B", "2.500kB", "72.486MB".

const SIZE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

export function formatSize(bytes) {
  let value = Number(bytes);
  let unit = 0;
  // Step up while the value would print as 1000 or more after rounding (999999 B is 1.000MB).
  while (unit + 1 < SIZE_UNITS.length && value >= 999.9995) {
    value /= 1000;
    unit++;
  }
  return value.toFixed(3) + SIZE_UNITS[unit];
}

export function formatPercent(part, whole) {
  if (!whole) return "0.00%";
  return ((100 * part) / whole).toFixed(2) + "%";
}

export function formatCount(n) {
  return Number(n).toLocaleString("en-US");
}

export function formatDuration(ms) {
  if (ms < 1000) return ms + " ms";
  const seconds = ms / 1000;
  if (seconds < 60) return seconds.toFixed(3) + " s";
  const minutes = Math.floor(seconds / 60);
  const rest = seconds - minutes * 60;
  if (minutes < 60) return `${minutes} min ${rest.toFixed(0)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatTimestamp(msSinceEpoch) {
  if (!msSinceEpoch) return "unknown";
  // ISO in UTC: unambiguous whatever the viewer's time zone.
  return new Date(msSinceEpoch).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}
