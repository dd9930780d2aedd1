// Checks real reports in headless Chromium: what the flame graph draws, search, click-zoom and
// the back button, Esc, the inverted view, the table's sorting and search; and on every page,
// no console error and no network request. Exits non-zero on the first failed check.
//
//   node check_reports.mjs --flamegraph F.html --temporal F.html --threads F.html --table T.html
//                          [--native F.html] --screenshots DIR
// (--temporal: a --temporal flame graph; --threads: a --split-threads one; --native: the flame
// graph of a `memray run --native` capture.)
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { WAIT_MS, launch, openReport } from "./browser.mjs";

const { values: args } = parseArgs({
  options: {
    flamegraph: { type: "string" },
    temporal: { type: "string" },
    threads: { type: "string" },
    table: { type: "string" },
    native: { type: "string" },
    screenshots: { type: "string" },
  },
});
mkdirSync(args.screenshots, { recursive: true });

// The known program's functions (tests/integration/html_report_lib.py).
const LIVE_AT_PEAK = ["main", "alpha_big", "beta_small", "gamma_outer", "delta_inner"];

const functions = (page) => page.evaluate(() => window.memrayFlamegraph.rendered().map((b) => b.function));
const boxOf = async (page, name) => (await page.evaluate(() => window.memrayFlamegraph.rendered())).find((b) => b.function === name && !b.ancestor);
const renderCount = (page) => page.$eval("#flamegraph", (c) => Number(c.dataset.renderCount));

async function afterRender(page, action) {
  const before = await renderCount(page);
  await action();
  await page.waitForFunction((n) => Number(document.getElementById("flamegraph").dataset.renderCount) > n, before, { timeout: WAIT_MS });
}

async function clickBox(page, box) {
  const canvas = await page.$("#flamegraph").then((c) => c.boundingBox());
  await page.mouse.click(canvas.x + box.x + Math.min(box.w / 2, 40), canvas.y + box.y + 10);
}

async function checkFlamegraph(browser) {
  const { page, context, problems, loadMs } = await openReport(browser, args.flamegraph);
  console.log(`flamegraph rendered ${loadMs.toFixed(0)} ms after navigation start`);

  const drawn = await functions(page);
  for (const name of LIVE_AT_PEAK) assert.ok(drawn.includes(name), `${name} is drawn (drawn: ${drawn.join(", ")})`);
  assert.ok(!drawn.includes("epsilon_temporary"), "garbage is not live at the peak");
  const alpha = await boxOf(page, "alpha_big");
  assert.ok(alpha.label.startsWith("alpha_big"), `alpha_big's box is labelled (label: ${alpha.label})`);
  await page.screenshot({ path: join(args.screenshots, "flamegraph.png"), fullPage: true });

  // The tooltip: function, file:line, the source line, size, share and count.
  const canvasBox = await page.$("#flamegraph").then((c) => c.boundingBox());
  await page.mouse.move(canvasBox.x + alpha.x + 5, canvasBox.y + alpha.y + 10);
  await page.waitForSelector(".tooltip:not([hidden])");
  const tooltip = await page.textContent(".tooltip");
  for (const part of ["alpha_big", "script.py:", "return [bytearray(1024 * 1024) for _ in range(8)]", "% of the total", "allocations", "MB"]) {
    assert.ok(tooltip.includes(part), `the tooltip shows "${part}" (${tooltip})`);
  }
  await page.mouse.move(0, 0);

  // Search: exactly the frames whose function or file matches light up.
  await afterRender(page, () => page.fill("#search", "GAMMA"));
  const highlighted = (await page.evaluate(() => window.memrayFlamegraph.rendered())).filter((b) => b.highlighted).map((b) => b.function);
  assert.deepEqual([...new Set(highlighted)], ["gamma_outer"], "search highlights gamma_outer only");
  const matchInfo = await page.textContent("#match-info");
  assert.match(matchInfo, /1 frames match: .*\(\d+\.\d\d% of/, `matched share shown (${matchInfo})`);
  await page.screenshot({ path: join(args.screenshots, "flamegraph-search.png"), fullPage: true });
  await afterRender(page, () => page.fill("#search", ""));

  // Click-zoom on alpha_big: it fills the width, beta_small's branch leaves the view.
  const total = await page.evaluate(() => window.memrayFlamegraph.totalBytes());
  await afterRender(page, () => clickBox(page, alpha));
  assert.equal(await page.evaluate(() => window.memrayFlamegraph.focus()), "alpha_big");
  assert.match(await page.evaluate(() => location.hash), /^#zoom=[\d.]+$/);
  const zoomed = await boxOf(page, "alpha_big");
  const width = await page.$eval("#flamegraph", (c) => c.getBoundingClientRect().width);
  assert.ok(Math.abs(zoomed.w - width) < 1, `the zoomed frame spans the chart (${zoomed.w} of ${width})`);
  assert.ok(!(await functions(page)).includes("beta_small"), "beta_small is outside the zoomed view");
  assert.equal(await page.evaluate(() => window.memrayFlamegraph.totalBytes()), total, "zoom keeps the data");
  await page.screenshot({ path: join(args.screenshots, "flamegraph-zoomed.png"), fullPage: true });

  // The back button undoes the zoom; Esc undoes one too.
  await afterRender(page, () => page.goBack());
  assert.equal(await page.evaluate(() => window.memrayFlamegraph.focus()), null, "back restores the whole view");
  assert.ok((await functions(page)).includes("beta_small"), "beta_small is back");
  await afterRender(page, async () => clickBox(page, await boxOf(page, "gamma_outer")));
  assert.equal(await page.evaluate(() => window.memrayFlamegraph.focus()), "gamma_outer");
  await afterRender(page, () => page.keyboard.press("Escape"));
  assert.equal(await page.evaluate(() => window.memrayFlamegraph.focus()), null, "Esc resets the zoom");

  // Hiding the import system drops the imported module's allocations with their import frames.
  const files = () => page.evaluate(() => window.memrayFlamegraph.rendered().map((b) => b.file));
  assert.ok((await files()).some((f) => f.endsWith("heavy_module.py")), "the imported module's frames are drawn");
  await afterRender(page, () => page.check("#hide-import-system"));
  assert.ok(!(await files()).some((f) => f.endsWith("heavy_module.py") || f.startsWith("<frozen importlib")), "import frames hidden");
  assert.ok(total - (await page.evaluate(() => window.memrayFlamegraph.totalBytes())) >= 2_000_000, "their memory left the total");
  await afterRender(page, () => page.uncheck("#hide-import-system"));

  // Inverted: the first row under the root holds the allocating functions, callers below.
  await afterRender(page, () => page.check("#inverted"));
  const firstRow = (await page.evaluate(() => window.memrayFlamegraph.rendered())).filter((b) => b.y === 20).map((b) => b.function);
  assert.ok(firstRow.includes("delta_inner") || firstRow.includes("<listcomp>"), `allocating frames first (${firstRow.join(", ")})`);
  assert.ok(!firstRow.includes("main"), "main only calls: it is not in the first inverted row");
  await page.screenshot({ path: join(args.screenshots, "flamegraph-inverted.png"), fullPage: true });

  assert.deepEqual(problems, [], "no console error, no network request");
  await context.close();
}

// The usage the doc defines for slices [first, last] of a peak report: the highest slice (the
// latest on a tie), and the intervals alive there. Computed here independently of the app.
function expectedPeakBytes(data, first, last) {
  const { slices, intervals } = data.temporal;
  let s = first;
  for (let i = first; i <= last; i++) if (slices.heap[i] >= slices.heap[s]) s = i;
  let bytes = 0;
  intervals.node.forEach((_, i) => {
    if (intervals.from[i] <= s && (intervals.to[i] === -1 || s < intervals.to[i])) bytes += intervals.bytes[i];
  });
  return bytes;
}

async function checkTemporal(browser) {
  const { page, context, problems } = await openReport(browser, args.temporal);
  const data = await page.evaluate(() => JSON.parse(document.getElementById("memray-data").textContent));
  const last = data.temporal.slices.start_ms.length - 1;
  assert.ok(last >= 2, `several time slices (${last + 1})`);
  const total = () => page.evaluate(() => window.memrayFlamegraph.totalBytes());
  assert.equal(await total(), expectedPeakBytes(data, 0, last), "the initial view is the whole capture's peak");
  const setSlider = (id, value) => afterRender(page, () => page.$eval(id, (input, v) => {
    input.value = v;
    input.dispatchEvent(new Event("input"));
  }, value));
  for (const [first, lastSlice] of [[0, 0], [0, Math.floor(last / 2)], [1, last]]) {
    await setSlider("#range-from", first);
    await setSlider("#range-to", lastSlice);
    assert.equal(await total(), expectedPeakBytes(data, first, lastSlice), `peak of slices ${first}..${lastSlice}`);
  }
  assert.match(await page.textContent("#range-text"), /the peak of that range/);
  await page.screenshot({ path: join(args.screenshots, "flamegraph-temporal.png"), fullPage: true });
  assert.deepEqual(problems, [], "no console error, no network request");
  await context.close();
}

async function checkThreadFilter(browser) {
  const { page, context, problems } = await openReport(browser, args.threads);
  const options = await page.$$eval("#thread-filter option", (list) => list.map((o) => [o.value, o.textContent]));
  const worker = options.find(([, name]) => name.startsWith("worker"));
  assert.ok(worker, `a worker thread to choose (${options.map((o) => o[1]).join(", ")})`);
  await afterRender(page, () => page.selectOption("#thread-filter", worker[0]));
  const drawn = await functions(page);
  assert.ok(drawn.includes("worker_thread_body"), "the worker's frames are drawn");
  assert.ok(!drawn.includes("alpha_big"), "the main thread's frames are not");
  await page.screenshot({ path: join(args.screenshots, "flamegraph-thread.png"), fullPage: true });
  assert.deepEqual(problems, [], "no console error, no network request");
  await context.close();
}

async function checkTable(browser) {
  const { page, context, problems, loadMs } = await openReport(browser, args.table);
  console.log(`table rendered ${loadMs.toFixed(0)} ms after navigation start`);
  const sizes = () => page.$$eval("#allocations tbody tr", (rows) => rows.map((r) => r.children[1].title));
  const bytesOf = (titles) => titles.map((t) => Number(t.split(" ")[0].replace(/,/g, "")));
  const initial = bytesOf(await sizes());
  assert.ok(initial.length > 0, "rows shown");
  assert.deepEqual(initial, [...initial].sort((a, b) => b - a), "largest first by default");
  const locations = await page.$$eval("#allocations td.location", (cells) => cells.map((c) => c.textContent));
  assert.ok(locations.some((l) => /^alpha_big at .*script\.py:\d+$/.test(l) || /^<listcomp> at .*script\.py:\d+$/.test(l)), `locations read "function at file:line" (${locations.join(" | ")})`);

  await page.click('th[data-key="bytes"]');
  const ascending = bytesOf(await sizes());
  assert.deepEqual(ascending, [...ascending].sort((a, b) => a - b), "a second click sorts ascending");

  // The worker thread's only allocation site is its own function, on every Python version.
  await page.fill("#search", "worker_thread_body");
  await page.waitForFunction(() => document.getElementById("page-status").textContent.includes("filtered"));
  const found = await page.$$eval("#allocations td.location", (cells) => cells.map((c) => c.textContent));
  assert.ok(found.length > 0, "the search finds the worker's site");
  assert.ok(found.every((l) => l.startsWith("worker_thread_body at ")), `only matching rows (${found.join(" | ")})`);
  await page.screenshot({ path: join(args.screenshots, "table.png"), fullPage: true });
  assert.deepEqual(problems, [], "no console error, no network request");
  await context.close();
}

// A --native capture: the interpreter's C functions that allocate are drawn as native frames,
// in their own colour family, say "[native]" in the tooltip, and the legend explains it.
async function checkNative(browser) {
  const { page, context, problems } = await openReport(browser, args.native);
  const boxes = await page.evaluate(() => window.memrayFlamegraph.rendered());
  const native = boxes.filter((b) => b.native && b.w > 20);
  assert.ok(native.length > 0, `native frames are drawn (${boxes.map((b) => b.function).join(", ")})`);
  assert.ok(boxes.some((b) => b.function === "alpha_big" && !b.native), "Python frames are not native");
  const legend = await page.textContent("#frame-legend");
  assert.ok(legend.includes("native (C/C++)") && legend.includes("Python"), `the legend names both (${legend})`);
  const canvasBox = await page.$("#flamegraph").then((c) => c.boundingBox());
  await page.mouse.move(canvasBox.x + native[0].x + 5, canvasBox.y + native[0].y + 10);
  await page.waitForSelector(".tooltip:not([hidden])");
  const tooltip = await page.textContent(".tooltip");
  assert.ok(tooltip.includes("[native]"), `a native frame's tooltip says so (${tooltip})`);
  await page.screenshot({ path: join(args.screenshots, "flamegraph-native.png"), fullPage: true });
  assert.deepEqual(problems, [], "no console error, no network request");
  await context.close();
}

const browser = await launch();
try {
  await checkFlamegraph(browser);
  await checkTemporal(browser);
  await checkThreadFilter(browser);
  await checkTable(browser);
  if (args.native) await checkNative(browser);
  console.log("all report checks passed");
} catch (error) {
  console.error(`FAILED: ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
