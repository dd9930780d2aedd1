// Human-readable numbers, matching the memray command line (reader/src/size_format.cpp):
// SI units (1 kB = 1000 B) with three decimals, e.g. "4.000B", "2.500kB", "72.486MB".

const SIZE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

// [value, unit]: `bytes` in the largest unit that keeps the value under `limit`, the point at
// which the caller's rounding would print 1000 or more.
function inUnits(bytes, limit) {
  let value = Number(bytes);
  let unit = 0;
  while (unit + 1 < SIZE_UNITS.length && value >= limit) {
    value /= 1000;
    unit++;
  }
  return [value, SIZE_UNITS[unit]];
}

export function formatSize(bytes) {
  // 999999 B rounds to 1000.000kB: that is 1.000MB.
  const [value, unit] = inUnits(bytes, 999.9995);
  return value.toFixed(3) + unit;
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

// For charts: "0 B", "512 B", "16.6 MB", "1.23 GB": three significant digits, no trailing
// zeros, a space before the unit (the three-decimal form above is for tables of exact sizes).
export function formatSizeShort(bytes) {
  const [value, unit] = inUnits(bytes, 999.5);
  const decimals = value >= 100 || unit === "B" ? 0 : value >= 10 ? 1 : 2;
  return `${trimZeros(value.toFixed(decimals))} ${unit}`;
}

// "2.50" -> "2.5", "3.00" -> "3", "120" -> "120".
export function trimZeros(text) {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}
