// Headless Chromium for the report tests, through playwright-core (from the npm lockfile) and
// the system's /usr/bin/chromium. Every page is watched: any network request fails the test
// (a report must be self-contained), and so does any console error or uncaught exception.
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

// The build installs the npm packages (reporters/CMakeLists.txt) and says where.
const modules = process.env.MEMRAY_WEB_MODULES || join(import.meta.dirname, "../../reporters/web/node_modules");
const { chromium } = createRequire(join(modules, "noop.js"))("playwright-core");

export const CHROMIUM = process.env.MEMRAY_CHROMIUM || "/usr/bin/chromium";

// How long any wait for the browser may take: generous, for a machine busy with other work. The
// checks are about what the page shows, never how fast (render times are the benchmarks' job).
export const WAIT_MS = 300_000;

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: WAIT_MS,
    headless: true,
    // Chromium's own background traffic (updates, sync, field trials) has nowhere to go on a
    // closed network and is not the report's doing: turn it off so it cannot muddy the checks.
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-quic",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

// Opens `htmlPath` in a fresh page; returns {page, problems, loadMs} where `problems` collects
// console errors, page errors and network requests as they happen.
export async function openReport(browser, htmlPath, { width = 1400, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const problems = [];
  const url = pathToFileURL(htmlPath).href;
  await context.route("**/*", (route) => {
    const requested = route.request().url();
    // The report itself is the one file the browser may load.
    if (requested.split("#")[0] === url) return route.continue();
    problems.push(`network request: ${requested}`);
    return route.abort();
  });
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  await page.goto(url);
  await page.waitForFunction(() => document.documentElement.dataset.rendered === "true" || document.querySelector(".fatal-error"), null, { timeout: WAIT_MS });
  const fatal = await page.$eval(".fatal-error", (e) => e.textContent).catch(() => null);
  if (fatal) problems.push(fatal);
  // Navigation start to the app's "rendered" mark, measured by the page itself.
  const loadMs = await page.evaluate(() => {
    const mark = performance.getEntriesByName("memray-rendered")[0];
    return mark ? mark.startTime : NaN;
  });
  return { page, context, problems, loadMs };
}
