// Builds src/trustcart/web/static/gpp.js from entry.js and the exact @iabgpp/cmpapi version of
// package-lock.json (`make gpp`). Deterministic: the same inputs give the same bytes, and a test
// rebuilds it and compares with the committed file.
import { readFileSync } from "node:fs";
import { build } from "esbuild";

const lib = JSON.parse(readFileSync("node_modules/@iabgpp/cmpapi/package.json", "utf8"));
const banner = `/*! TrustCart gpp.js: IAB GPP CMP API for the embed script (see js/gpp/entry.js).
 * Bundles ${lib.name} ${lib.version} (IAB Tech Lab, ${lib.license}: https://www.apache.org/licenses/LICENSE-2.0,
 * source https://github.com/IABTechLab/iabgpp-es), unmodified, built with esbuild by \`make gpp\`.
 * Do not edit: rebuild from js/gpp (package.json, package-lock.json, entry.js, build.mjs). */`;

await build({
  entryPoints: ["entry.js"],
  bundle: true,
  format: "iife",
  minify: true,
  target: "es2017",
  legalComments: "none",
  banner: { js: banner },
  outfile: process.argv[2] || "../../src/trustcart/web/static/gpp.js",
  logLevel: "warning",
});
