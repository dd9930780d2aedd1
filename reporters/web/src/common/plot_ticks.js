// Where a chart's axes put their ticks, and what the labels say: round steps (1, 2, 2.5 or 5
// times a power of ten) chosen for the room the axis has, labels in one unit per axis without
// needless decimals ("0", "50 MB", "100 MB"; "0 s", "0.5 s", "1 s").
import { trimZeros } from "./format.js";

const BYTE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

// The smallest round step that covers `span` in at most `intervals` steps.
function roundStep(span, intervals, mantissas) {
  const rough = span / Math.max(1, intervals);
  let power = Math.pow(10, Math.floor(Math.log10(rough)));
  for (;;) {
    for (const m of mantissas) {
      if (m * power >= rough * (1 - 1e-9)) return m * power;
    }
    power *= 10;
  }
}

// Decimals that show every multiple of `step` (expressed in the label's unit) exactly.
function decimalsFor(step) {
  for (let d = 0; d < 6; d++) {
    const scaled = step * Math.pow(10, d);
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return d;
  }
  return 6;
}

// Ticks from 0 up to the first round value at or above `max` bytes, in about `intervals` steps:
// {top, ticks: [{value, label}]}. The unit is the top's, shared by every label.
export function byteTicks(max, intervals) {
  const span = Math.max(Number(max) || 0, 1000);  // an empty heap still gets a scale
  const step = Math.max(1, roundStep(span, intervals, [1, 2, 2.5, 5]));  // no fractions of a byte
  const top = Math.ceil(span / step - 1e-9) * step;
  let unit = 0;
  while (unit + 1 < BYTE_UNITS.length && top >= Math.pow(1000, unit + 1)) unit++;
  const scale = Math.pow(1000, unit);
  const decimals = decimalsFor(step / scale);
  const ticks = [];
  for (let i = 0; i * step <= top * (1 + 1e-9); i++) {
    const value = i * step;
    ticks.push({ value, label: value === 0 ? "0" : `${trimZeros((value / scale).toFixed(decimals))} ${BYTE_UNITS[unit]}` });
  }
  return { top, ticks };
}

// Time ticks (ms in, labels in s, min or h) inside [fromMs, toMs], about `intervals` of them.
export function timeTicks(fromMs, toMs, intervals) {
  const span = Math.max(toMs - fromMs, 1);
  let step;
  let unitMs;
  let unit;
  if (span / intervals < 60_000) {
    step = Math.max(1, roundStep(span / 1000, intervals, [1, 2, 2.5, 5]) * 1000);  // samples are whole ms
    [unitMs, unit] = [1000, "s"];
  } else if (span / intervals < 3_600_000) {
    step = roundStep(span / 60_000, intervals, [1, 2, 5, 10, 15, 30]) * 60_000;
    [unitMs, unit] = [60_000, "min"];
  } else {
    step = roundStep(span / 3_600_000, intervals, [1, 2, 3, 6, 12, 24]) * 3_600_000;
    [unitMs, unit] = [3_600_000, "h"];
  }
  const decimals = decimalsFor(step / unitMs);
  const ticks = [];
  for (let value = Math.ceil(fromMs / step - 1e-9) * step; value <= toMs + 1e-9; value += step) {
    ticks.push({ value, label: `${trimZeros((value / unitMs).toFixed(decimals))} ${unit}` });
  }
  return ticks;
}
