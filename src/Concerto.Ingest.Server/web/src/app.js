// The dashboard's entry: a hash router over the pages, and the live event stream they share.
import { h } from "./dom.js";
import { connect } from "./live.js";
import * as pages from "./pages.js";

const routes = [
  [/^#?\/?$/, (page) => pages.overview(page)],
  [/^#\/runs\/(\d+)$/, (page, id) => pages.run(page, id)],
  [/^#\/datasets$/, (page) => pages.datasets(page)],
  [/^#\/datasets\/([^/]+)\/(\d+)$/, (page, name, version) => pages.dataset(page, decodeURIComponent(name), version)],
  [/^#\/training$/, (page) => pages.training(page)],
  [/^#\/training\/(\d+)$/, (page, id) => pages.trainingRun(page, id)],
  [/^#\/segments\/(\d+)$/, (page, id) => pages.segment(page, id)],
];

let cleanup = () => {};

async function show() {
  const page = document.getElementById("page");
  cleanup();
  cleanup = () => {};
  const route = routes.find(([pattern]) => pattern.test(location.hash));
  if (!route) { page.replaceChildren(h("p", { class: "error" }, `No page at ${location.hash}.`)); return; }
  page.replaceChildren(h("p", { class: "muted" }, "Loading..."));
  try {
    cleanup = (await route[1](page, ...location.hash.match(route[0]).slice(1))) ?? (() => {});
    document.body.dataset.page = "ready";
  } catch (e) {
    page.replaceChildren(h("p", { class: "error" }, e.message));
    document.body.dataset.page = "error";
  }
}

connect(document.getElementById("live"));
window.addEventListener("hashchange", () => { document.body.dataset.page = "loading"; show(); });
show();
