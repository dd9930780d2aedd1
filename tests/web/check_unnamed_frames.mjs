// The flame graph of a --native capture in headless Chromium: by default ("Hide irrelevant
// frames" checked) no frame whose function matches --hidden is drawn while the --keep functions
// are; unchecking the box draws frames matching --hidden (when --expect-hidden says some exist).
//
//   node check_unnamed_frames.mjs --report F.html --hidden REGEX --keep NAME [--keep NAME...]
//                                 [--expect-hidden] --screenshots DIR
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { WAIT_MS, launch, openReport } from "./browser.mjs";

const { values: args } = parseArgs({
  options: {
    report: { type: "string" },
    hidden: { type: "string" },
    keep: { type: "string", multiple: true },
    "expect-hidden": { type: "boolean", default: false },
    screenshots: { type: "string" },
  },
});
mkdirSync(args.screenshots, { recursive: true });
const hidden = new RegExp(args.hidden);

const drawnFunctions = (page) => page.evaluate(() => window.memrayFlamegraph.rendered().map((b) => b.function));
const renderCount = (page) => page.$eval("#flamegraph", (c) => Number(c.dataset.renderCount));

const browser = await launch();
try {
  const { page, context, problems } = await openReport(browser, args.report);
  assert.equal(await page.isChecked("#hide-irrelevant"), true, "irrelevant frames are hidden by default");
  const shown = await drawnFunctions(page);
  for (const name of args.keep) assert.ok(shown.includes(name), `${name} is drawn (drawn: ${shown.join(", ")})`);
  assert.deepEqual(shown.filter((f) => hidden.test(f)), [], "no unnamed interpreter frame is drawn by default");
  await page.screenshot({ path: join(args.screenshots, "flamegraph-unnamed-hidden.png"), fullPage: true });

  const before = await renderCount(page);
  await page.uncheck("#hide-irrelevant");
  await page.waitForFunction((n) => Number(document.getElementById("flamegraph").dataset.renderCount) > n, before, { timeout: WAIT_MS });
  const all = await drawnFunctions(page);
  for (const name of args.keep) assert.ok(all.includes(name), `${name} is still drawn (drawn: ${all.join(", ")})`);
  const unnamed = all.filter((f) => hidden.test(f));
  if (args["expect-hidden"]) assert.ok(unnamed.length > 0, `unchecked, the unnamed frames are drawn (drawn: ${all.join(", ")})`);
  console.log(`drawn with every frame: ${unnamed.length} unnamed interpreter frames`);
  await page.screenshot({ path: join(args.screenshots, "flamegraph-unnamed-shown.png"), fullPage: true });
  assert.deepEqual(problems, [], "no console error, no network request");
  await context.close();
  console.log("unnamed frame checks passed");
} catch (error) {
  console.error(`FAILED: ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
