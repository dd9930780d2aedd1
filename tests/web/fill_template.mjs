// Fills a built report template with data the way the C++ writer does (title HTML-escaped,
// every "<" of the JSON as \u003c): for trying the apps on synthetic data without the CLI.
//
//   node fill_template.mjs TEMPLATE.html DATA.json OUT.html [TITLE]
import { readFileSync, writeFileSync } from "node:fs";

const [template, dataFile, out, title = "synthetic report"] = process.argv.slice(2);
if (!out) {
  console.error("fill_template.mjs: error: usage: node fill_template.mjs TEMPLATE DATA OUT [TITLE]");
  process.exit(2);
}
const escapeHtml = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const html = readFileSync(template, "utf8")
  .replace("<!--MEMRAY:TITLE-->", () => escapeHtml(title))
  .replace("<!--MEMRAY:DATA-->", () => readFileSync(dataFile, "utf8").replace(/</g, "\\u003c"));
writeFileSync(out, html);
