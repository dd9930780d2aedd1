// Opens a `memray transform speedscope` file in speedscope's own page (the release build in its
// npm package, reporters/web/package-lock.json), in headless Chromium, the way speedscope's own
// command line does: index.html#localProfilePath=<a script calling speedscope.loadFileFromBase64>.
// Checks that the profile loads (no import error, no console error, no network request), that
// the first of memray's two profiles is shown, and that the functions named on the command line are
// listed in the sandwich view. Exits non-zero on the first failed check.
//
//   node check_speedscope.mjs --profile F.speedscope.json --screenshots DIR FUNCTION[=TEXT]...
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { WAIT_MS, launch } from "./browser.mjs";

const { values: args, positionals: functions } = parseArgs({
  options: { profile: { type: "string" }, screenshots: { type: "string" } },
  allowPositionals: true,
});
mkdirSync(args.screenshots, { recursive: true });

const modules = process.env.MEMRAY_WEB_MODULES || join(import.meta.dirname, "../../reporters/web/node_modules");
const release = join(modules, "speedscope", "dist", "release");
const loader = join(args.screenshots, "load-profile.js");
const base64 = readFileSync(args.profile).toString("base64");
writeFileSync(loader, `speedscope.loadFileFromBase64(${JSON.stringify(basename(args.profile))}, ${JSON.stringify(base64)})`);

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  context.setDefaultTimeout(WAIT_MS);
  const problems = [];
  // Only files: speedscope's own and the loader. Anything else would be a network request.
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(pathToFileURL(release).href) || url === pathToFileURL(loader).href) return route.continue();
    problems.push(`network request: ${url}`);
    return route.abort();
  });
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("dialog", (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    dialog.dismiss();
  });
  await page.goto(`${pathToFileURL(join(release, "index.html")).href}#localProfilePath=${loader}`);

  // Loaded: the title is the profile's name (the capture's command line), and the toolbar
  // offers the first of the two profiles.
  const { name } = JSON.parse(readFileSync(args.profile, "utf8"));
  await page.waitForFunction(() => document.title.endsWith(" - speedscope"), null, { timeout: WAIT_MS });
  assert.equal(await page.title(), `${name} - speedscope`);
  await page.getByText("Memory (1/2)").waitFor({ timeout: WAIT_MS });
  assert.deepEqual(problems, [], "no error while loading");
  const body = await page.textContent("body");
  assert.ok(!/Something went wrong|Unrecognized format/i.test(body), `speedscope imported the file (${body.slice(0, 300)})`);
  await page.screenshot({ path: join(args.screenshots, "speedscope-time-order.png") });

  // The sandwich view lists every function of the profile by name, as text, in a table row
  // with its total and self weights: NAME=TEXT wants TEXT (a size as speedscope prints it) in
  // the first row of NAME.
  await page.getByText("Sandwich").click();
  // Sorted by total weight, so the functions asked for (the program's own, which hold the
  // megabytes) are among the first rows: the table draws only the rows in view, and its
  // default order (self weight) puts a caller such as main below the interpreter's many
  // import-time frames.
  await page.getByText("Total", { exact: true }).click();
  for (const wanted of functions) {
    const [name, text] = wanted.split("=");
    const cell = page.getByText(name, { exact: true }).first();
    await cell.waitFor({ timeout: WAIT_MS });
    const row = await page.locator("tr").filter({ has: cell }).first().textContent();
    if (text) assert.ok(row.includes(text), `the sandwich row of ${name} shows ${text} (${row})`);
  }
  await page.screenshot({ path: join(args.screenshots, "speedscope-sandwich.png") });
  console.log(`speedscope loaded ${basename(args.profile)} and lists ${functions.join(", ")}`);
  assert.deepEqual(problems, [], "no error, no network request");
} finally {
  await browser.close();
}
