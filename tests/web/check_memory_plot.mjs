// Checks the memory plot and the header of real reports in headless Chromium, at each width
// given, by measuring what the browser laid out (never what the app says about itself):
// - the plot is a real chart: its plotting area at least 180 px tall;
// - the y axis has at least four ticks, labelled in one unit without needless decimals
//   ("0", "50 MB", "100 MB"), evenly spaced, the top one at or above the highest sample; the
//   x axis has at least three, in seconds; every label lies inside the plot's box, the y labels
//   left of the plotting area, none overlapping another;
// - the peak marker sits where the y labels put the heap's highest sample, and its label says
//   that value;
// - hovering the marker shows the time, heap and RSS of that sample (values from the page's
//   own data, formatted independently here);
// - no header field is clipped.
// Exits non-zero on the first failed check; writes a screenshot per report and width.
//
//   node check_memory_plot.mjs --report NAME=F.html [--report ...] --widths 1400,800 --screenshots DIR
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { launch, openReport } from "./browser.mjs";

const { values: args } = parseArgs({
  options: {
    report: { type: "string", multiple: true },
    widths: { type: "string", default: "1400,800" },
    screenshots: { type: "string" },
  },
});
mkdirSync(args.screenshots, { recursive: true });

const UNITS = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };

// "0" -> 0, "50 MB" -> 5e7; anything else (extra zeros, missing unit) fails.
function bytesOfLabel(text) {
  if (text === "0") return 0;
  const match = /^(\d+(?:\.\d*[1-9])?) (B|kB|MB|GB|TB)$/.exec(text);
  assert.ok(match, `a y label reads like "50 MB", without needless decimals (got "${text}")`);
  return Number(match[1]) * UNITS[match[2]];
}

// The same three-significant-digit form as the app's tooltip, written here from its definition.
function shortSize(bytes) {
  const names = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (unit + 1 < names.length && value >= 999.5) {
    value /= 1000;
    unit++;
  }
  const decimals = value >= 100 || unit === 0 ? 0 : value >= 10 ? 1 : 2;
  let text = value.toFixed(decimals);
  if (text.includes(".")) text = text.replace(/\.?0+$/, "");
  return `${text} ${names[unit]}`;
}

const inside = (inner, outer, slack = 0.5) =>
  inner.left >= outer.left - slack && inner.right <= outer.right + slack
  && inner.top >= outer.top - slack && inner.bottom <= outer.bottom + slack;
const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
const centreY = (r) => (r.top + r.bottom) / 2;

async function geometry(page) {
  return page.evaluate(() => {
    const rect = (e) => {
      const r = e.getBoundingClientRect();
      return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height };
    };
    const plot = document.querySelector(".memory-plot");
    const labels = (axis) => [...plot.querySelectorAll(`.tick-label.${axis}`)].map((e) => ({ text: e.textContent, box: rect(e) }));
    const marker = plot.querySelector(".peak-marker");
    return {
      box: rect(plot),
      area: rect(plot.querySelector(".u-over")),
      y: labels("y"),
      x: labels("x"),
      marker: marker && !marker.hidden ? rect(marker) : null,
      peakLabel: plot.querySelector(".peak-label")?.textContent ?? "",
    };
  });
}

async function checkHeader(page, where) {
  const clipped = await page.$$eval(".facts .fact dd", (cells) =>
    cells.filter((c) => c.scrollWidth > c.clientWidth + 1 || c.scrollHeight > c.clientHeight + 1)
      .map((c) => `${c.previousElementSibling.textContent}: ${c.textContent}`));
  assert.deepEqual(clipped, [], `${where}: no header field is clipped`);
}

async function checkPlot(page, data, where) {
  const heap = data.memory.heap;
  const rss = data.memory.rss;
  const times = data.memory.time_ms;
  const highest = Math.max(...heap, ...rss);
  const peakIndex = heap.reduce((best, v, i) => (v > heap[best] ? i : best), 0);
  const g = await geometry(page);

  assert.ok(g.area.height >= 180, `${where}: the plotting area is a real chart (${g.area.height} px tall)`);

  // The y axis: enough ticks, round values, one unit, evenly spaced, covering the data.
  assert.ok(g.y.length >= 4, `${where}: at least four y ticks (${g.y.map((l) => l.text).join(", ")})`);
  const values = g.y.map((l) => bytesOfLabel(l.text));
  const units = new Set(g.y.map((l) => l.text.split(" ")[1]).filter(Boolean));
  assert.equal(units.size, 1, `${where}: one unit on the y axis (${[...units].join(", ")})`);
  assert.equal(values[0], 0, `${where}: the y axis starts at 0`);
  const step = values[1] - values[0];
  const first = g.y[0];
  values.forEach((v, i) => assert.ok(Math.abs(v - i * step) <= step * 1e-9, `${where}: evenly stepped y values (${values})`));
  assert.ok(values.at(-1) >= highest, `${where}: the top tick (${values.at(-1)}) covers the highest sample (${highest})`);
  // Pixels per byte from the second and the top labels (the bottom one, "0", rests on the x
  // axis instead of being centred on it); every other label, and the marker, must agree.
  const second = g.y[1];
  const last = g.y.at(-1);
  const pxPerByte = (centreY(second.box) - centreY(last.box)) / (values.at(-1) - values[1]);
  assert.ok(pxPerByte > 0, `${where}: larger values are higher up`);
  const yOf = (bytes) => centreY(second.box) - (bytes - values[1]) * pxPerByte;
  g.y.forEach((l, i) => {
    if (i > 0) assert.ok(Math.abs(centreY(l.box) - yOf(values[i])) <= 1.5, `${where}: y label "${l.text}" sits on its tick`);
  });
  assert.ok(Math.abs(first.box.bottom - yOf(0)) <= 1.5, `${where}: the "0" label rests on the x axis`);

  // The x axis: seconds, at least three ticks, in order.
  assert.ok(g.x.length >= 3, `${where}: at least three x ticks (${g.x.map((l) => l.text).join(", ")})`);
  for (const l of g.x) assert.match(l.text, /^\d+(\.\d*[1-9])? (s|min|h)$/, `${where}: x label "${l.text}"`);
  for (let i = 1; i < g.x.length; i++) assert.ok(g.x[i].box.left > g.x[i - 1].box.left, `${where}: x labels in order`);

  // Every label inside the plot's box, the y labels left of the plotting area, no overlaps.
  const all = [...g.y, ...g.x];
  for (const l of all) assert.ok(inside(l.box, g.box), `${where}: label "${l.text}" lies inside the plot's box (${JSON.stringify(l.box)} in ${JSON.stringify(g.box)})`);
  for (const l of g.y) assert.ok(l.box.right <= g.area.left + 0.5, `${where}: y label "${l.text}" is left of the plotting area`);
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) assert.ok(!overlap(all[i].box, all[j].box), `${where}: labels "${all[i].text}" and "${all[j].text}" do not overlap`);
  }

  // The peak marker: at the heap's highest sample, and saying so.
  assert.ok(g.marker, `${where}: the peak is marked`);
  const markerY = centreY(g.marker);
  assert.ok(Math.abs(markerY - yOf(heap[peakIndex])) <= 2, `${where}: the marker (y ${markerY}) is at the peak's value (y ${yOf(heap[peakIndex])})`);
  assert.ok(inside(g.marker, g.area, 6), `${where}: the marker is on the plotting area`);
  assert.equal(g.peakLabel, `peak heap ${shortSize(heap[peakIndex])}`, `${where}: the marker's label`);

  // Hovering the marker shows that sample: its time, heap and RSS.
  await page.mouse.move((g.marker.left + g.marker.right) / 2, markerY);
  await page.waitForSelector(".memory-plot .plot-tooltip:not([hidden])");
  const tooltip = await page.textContent(".memory-plot .plot-tooltip");
  const index = Number(await page.getAttribute(".memory-plot .plot-tooltip", "data-index"));
  // The cursor snaps to the nearest sample: the peak's, or where samples are closer than a
  // pixel (a narrow window, a long run) one of its neighbours within that pixel.
  const timePerPixel = (times[times.length - 1] - times[0]) / g.area.width;
  assert.ok(index === peakIndex || Math.abs(times[index] - times[peakIndex]) <= 1.5 * timePerPixel,
            `${where}: hovering the marker picks the peak's sample or one within a pixel of it (sample ${index}, peak ${peakIndex})`);
  for (const part of [`${(times[index] / 1000).toFixed(3)} s`, `heap ${shortSize(heap[index])}`, `RSS ${shortSize(rss[index])}`]) {
    assert.ok(tooltip.includes(part), `${where}: the hover shows "${part}" (${tooltip})`);
  }
  await page.mouse.move(0, 0);
  await page.waitForSelector(".memory-plot .plot-tooltip", { state: "hidden" });
}

const widths = args.widths.split(",").map(Number);
const browser = await launch();
try {
  for (const entry of args.report) {
    const [name, path] = entry.split("=");
    for (const width of widths) {
      const where = `${name} at ${width} px`;
      const { page, context, problems } = await openReport(browser, path, { width, height: 900 });
      const data = await page.evaluate(() => JSON.parse(document.getElementById("memray-data").textContent));
      await checkHeader(page, where);
      await checkPlot(page, data, where);
      await page.screenshot({ path: join(args.screenshots, `memory-plot-${name}-${width}.png`), fullPage: true });
      assert.deepEqual(problems, [], `${where}: no console error, no network request`);
      await context.close();
      console.log(`${where}: memory plot and header checked`);
    }
  }
  console.log("all memory plot checks passed");
} catch (error) {
  console.error(`FAILED: ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
