// Bundles the dashboard for the .NET build: `node build.mjs OUT_DIR`. One script bundle (three.js included, no CDN),
// the page shell and the stylesheet; Concerto.Ingest.Server embeds what lands in OUT_DIR.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const out = process.argv[2];
if (!out) throw new Error("usage: node build.mjs OUT_DIR");
mkdirSync(out, { recursive: true });
await build({
  entryPoints: ["src/app.js"],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  outfile: join(out, "app.js"),
  logLevel: "warning",
});
for (const file of ["index.html", "style.css"]) copyFileSync(join("src", file), join(out, file));
