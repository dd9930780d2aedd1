// Builds the report templates: each app bundled with esbuild, its JS and CSS inlined into
// src/template.html, written as <outdir>/<app>.html. The C++ side (reporters/) embeds those
// files and fills in the two markers left in them: <!--MEMRAY:TITLE--> and <!--MEMRAY:DATA-->.
//
//   node build.mjs OUTDIR
import * as esbuild from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const APPS = ["flamegraph", "table"];
const MARKERS = ["<!--MEMRAY:TITLE-->", "<!--MEMRAY:DATA-->"];

function fail(message) {
  console.error(`build.mjs: error: ${message}`);
  process.exit(1);
}

function occurrences(text, needle) {
  return text.split(needle).length - 1;
}

async function buildApp(app, template) {
  const result = await esbuild.build({
    entryPoints: [join(here, "src", app, "main.js")],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["chrome100", "firefox100", "safari15"],
    outdir: "out",
    write: false,
    logLevel: "warning",
  });
  const js = result.outputFiles.find((f) => f.path.endsWith(".js")).text;
  const css = result.outputFiles.find((f) => f.path.endsWith(".css"))?.text ?? "";
  // Inline code must not close its own element.
  const safeJs = js.replace(/<\/(script)/gi, "<\\/$1");
  if (/<\/style/i.test(css)) fail(`${app}: the CSS contains "</style"`);
  if (/<!--/.test(safeJs)) fail(`${app}: the JS contains "<!--", which changes how HTML parses a script`);
  // Functions as replacements: "$" in the code must stay as it is.
  const html = template.replace("/*MEMRAY:CSS*/", () => css).replace("/*MEMRAY:JS*/", () => safeJs);
  for (const marker of MARKERS) {
    if (occurrences(html, marker) !== 1) fail(`${app}: ${marker} must appear exactly once in the output`);
  }
  return html;
}

const outdir = process.argv[2];
if (!outdir) fail("usage: node build.mjs OUTDIR");
const template = readFileSync(join(here, "src", "template.html"), "utf8");
mkdirSync(outdir, { recursive: true });
for (const app of APPS) {
  const html = await buildApp(app, template);
  writeFileSync(join(outdir, `${app}.html`), html);
  console.log(`${app}.html: ${(html.length / 1024).toFixed(1)} KiB`);
}
