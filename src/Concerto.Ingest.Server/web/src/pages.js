// The dashboard's pages, one function per hash route. Each renders into `page` and returns a cleanup function.
import { h, api, json, time, duration, fixed } from "./dom.js";
import { subscribe } from "./live.js";
import { lossChart } from "./chart.js";
import { openViewer } from "./viewer.js";

// What each stage's progress counts (run_stages.progress_done / progress_total).
const UNITS = { decode: "frames decoded", reconstruct: "keyframes reconstructed", segment: "views and segments built", featurize: "images featurized" };

function stageBadge(s) {
  const fraction = s.progressTotal > 0 ? Math.min(1, s.progressDone / s.progressTotal) : s.state === "succeeded" ? 1 : 0;
  const running = s.state === "running" || s.state === "retrying";
  // A stage that ended without making anything (its reason in the tooltip) is not drawn as a plain success.
  const skipped = s.state === "succeeded" && s.skipped;
  return h("span", { class: `stage ${s.state}${skipped ? " skipped" : ""}`, title: s.error ?? s.skipped ?? `${s.stage}: ${s.state}${s.progressTotal ? `, ${s.progressDone} / ${s.progressTotal} ${UNITS[s.stage] ?? ""}` : ""}`,
    dataset: { stage: s.stage, state: s.state, skipped: skipped ? "true" : undefined, done: s.progressDone, total: s.progressTotal } },
    s.stage, running ? h("span", { class: "bar" }, h("span", { style: `width:${(100 * fraction).toFixed(0)}%` })) : null);
}

// Why a run that ended has no scene or no segments, from the first stage that recorded a reason; null otherwise.
export function emptyReason(run) {
  const ended = run.stages.length > 0 && run.stages.every((s) => s.state === "succeeded");
  if (!ended || run.segments > 0) return null;
  const reconstruct = run.stages.find((s) => s.stage === "reconstruct");
  if (reconstruct?.skipped) return `no scene: ${reconstruct.skipped}`;
  const segment = run.stages.find((s) => s.stage === "segment");
  return `no segments: ${segment?.skipped ?? "the segment stage kept none"}`;
}

function runRow(run) {
  const failed = run.stages.find((s) => s.state === "failed");
  const empty = emptyReason(run);
  return h("tr", { dataset: { runId: run.runId } },
    h("td", {}, h("a", { href: `#/runs/${run.runId}` }, run.runId)),
    h("td", {}, run.path, failed ? h("div", { class: "error" }, `${failed.stage}: ${failed.error ?? "failed"}`)
      : empty ? h("div", { class: "warning empty-reason" }, empty) : null),
    h("td", {}, run.profileName),
    h("td", { class: "stages" }, run.stages.map(stageBadge)),
    h("td", { class: "num" }, run.keyframes),
    h("td", { class: "num" }, run.segments),
    h("td", { class: "muted" }, time(run.updatedAt)));
}

export async function overview(page) {
  const runs = await json("/api/runs?limit=1000");
  const body = h("tbody", {}, runs.map(runRow));
  const rows = new Map([...body.children].map((tr) => [tr.dataset.runId, tr]));
  const count = h("span", { class: "muted" }, `${runs.length} runs`);
  page.replaceChildren(h("h1", {}, "Runs ", count),
    h("table", { id: "runs" }, h("thead", {}, h("tr", {}, ["run", "video", "profile", "stages", "keyframes", "segments", "updated"].map((c) => h("th", {}, c)))), body));
  json("/api/rejects?limit=20").then((rejects) => {
    if (rejects.length === 0) return;
    page.append(h("h2", {}, "Rejected inputs"), h("table", {}, h("tbody", {}, rejects.map((r) =>
      h("tr", {}, h("td", {}, r.path), h("td", { class: "error" }, r.error), h("td", { class: "muted" }, time(r.at)))))));
  });
  return subscribe("runs", (changed) => {
    for (const run of changed.sort((a, b) => a.runId - b.runId)) {
      const row = runRow(run);
      const old = rows.get(String(run.runId));
      if (old) old.replaceWith(row); else body.prepend(row);
      rows.set(String(run.runId), row);
    }
    count.textContent = `${rows.size} runs`;
  });
}

export async function run(page, id) {
  const detail = await json(`/api/runs/${id}`);
  const stages = h("tbody");
  const message = h("p", { id: "retry-message" });
  const retry = h("button", { id: "retry", onclick: async () => {
    retry.disabled = true;
    try {
      const r = await (await api(`/api/runs/${id}/retry`, { method: "POST", headers: { "X-Concerto-Request": "1" } })).json();
      message.textContent = `resubmitted ${r.path} as batch ${r.batchId}`;
    } catch (e) { message.textContent = e.message; message.className = "error"; retry.disabled = false; }
  } }, "Retry failed stage");
  const render = (r) => {
    stages.replaceChildren(...r.stages.map((s) => h("tr", { dataset: { stage: s.stage, state: s.state } },
      h("td", {}, stageBadge(s)), h("td", { class: "num" }, s.progressTotal ? `${s.progressDone} / ${s.progressTotal} ${UNITS[s.stage] ?? ""}` : ""),
      h("td", { class: "num" }, s.executions), h("td", {}, s.worker ?? ""), h("td", {}, time(s.startedAt)),
      h("td", { class: "num" }, duration(s.startedAt, s.finishedAt ?? (s.state === "running" ? null : s.startedAt))),
      s.error ? h("td", { class: "error" }, s.error) : h("td", { class: "warning" }, s.skipped ?? ""))));
    retry.hidden = !r.stages.some((s) => s.state === "failed");
  };
  render(detail.run);
  const r = detail.run;
  page.replaceChildren(
    h("h1", {}, `Run ${r.runId}`), h("p", {}, detail.paths.join(", "), h("br"),
      h("span", { class: "muted" }, `${r.width}x${r.height}, ${fixed(r.durationSeconds, 1)} s, profile ${r.profileName} (${r.profileHash.slice(0, 8)})`)),
    emptyReason(r) ? h("p", { id: "empty-reason", class: "warning" }, emptyReason(r)) : "",
    h("table", { id: "stages" }, h("thead", {}, h("tr", {}, ["stage", "progress", "attempts", "worker", "started", "took", "failure or note"].map((c) => h("th", {}, c)))), stages),
    h("p", {}, retry), message,
    h("h2", {}, `Segments (${detail.segments.length})`),
    h("table", { id: "segments" }, h("thead", {}, h("tr", {}, ["segment", "points", "images", "correspondences", "coverage", "labelled"].map((c) => h("th", {}, c)))),
      h("tbody", {}, detail.segments.map((s) => h("tr", {}, h("td", {}, h("a", { href: `#/segments/${s.id}` }, s.segmentKey)), h("td", { class: "num" }, s.points),
        h("td", { class: "num" }, s.images.length), h("td", { class: "num" }, s.correspondences), h("td", { class: "num" }, fixed(s.meanCoverage)),
        h("td", {}, s.labelled ? "yes" : "no"))))));
  return subscribe("runs", (changed) => { for (const c of changed) if (c.runId === r.runId) render(c); });
}

export async function datasets(page) {
  const versions = await json("/api/datasets");
  page.replaceChildren(h("h1", {}, "Dataset versions"), versions.length === 0 ? h("p", { class: "muted" }, "None yet: `concerto dataset create NAME`.") :
    h("table", { id: "datasets" }, h("thead", {}, h("tr", {}, ["version", "filter", "splits", "segments", "teacher", "hash", "created", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, versions.map((v) => h("tr", {},
        h("td", {}, h("a", { href: `#/datasets/${encodeURIComponent(v.name)}/${v.version}` }, `${v.name}@${v.version}`)),
        h("td", {}, h("code", {}, v.filter ?? "(all live segments)")),
        h("td", {}, Object.entries(v.counts).map(([k, n]) => `${k} ${n}`).join(", ")),
        h("td", { class: "num" }, v.segments), h("td", {}, v.teacher ?? ""), h("td", { class: "muted" }, v.hash.slice(0, 12)), h("td", { class: "muted" }, time(v.createdAt)),
        h("td", {}, h("a", { href: `/api/datasets/${encodeURIComponent(v.name)}/${v.version}/manifest` }, "manifest"), " ",
          h("a", { href: `/api/datasets/${encodeURIComponent(v.name)}/${v.version}/manifest?format=jsonl` }, "jsonl")))))));
}

export async function dataset(page, name, version) {
  const d = await json(`/api/datasets/${encodeURIComponent(name)}/${version}`);
  page.replaceChildren(h("h1", {}, `${d.version.name}@${d.version.version}`),
    h("p", {}, "filter ", h("code", {}, d.version.filter ?? "(all live segments)"), `; seed ${d.version.seed}; `,
      Object.entries(d.version.counts).map(([k, n]) => `${k} ${n}`).join(", ")),
    h("table", { id: "members" }, h("thead", {}, h("tr", {}, ["segment", "split", "video", "points", "correspondences", "coverage"].map((c) => h("th", {}, c)))),
      h("tbody", {}, d.members.map((m) => h("tr", {}, h("td", {}, h("a", { href: `#/segments/${m.segmentId}` }, m.segmentKey)), h("td", {}, m.split),
        h("td", {}, m.sourcePath), h("td", { class: "num" }, m.points), h("td", { class: "num" }, m.correspondences), h("td", { class: "num" }, fixed(m.meanCoverage)))))));
}

export async function training(page) {
  const runs = await json("/api/training");
  const body = h("tbody");
  const render = (list) => body.replaceChildren(...list.map((t) => h("tr", { dataset: { trainingId: t.id, state: t.state } },
    h("td", {}, h("a", { href: `#/training/${t.id}` }, t.id)), h("td", {}, t.kind), h("td", {}, t.dataset), h("td", {}, t.modelSize),
    h("td", { class: "num" }, `${t.step} / ${t.totalSteps}`), h("td", {}, t.state), h("td", { class: "muted" }, time(t.updatedAt)),
    h("td", { class: "error" }, t.error ?? ""))));
  render(runs);
  page.replaceChildren(h("h1", {}, "Training runs"),
    h("table", { id: "training" }, h("thead", {}, h("tr", {}, ["run", "kind", "dataset", "model", "step", "state", "updated", ""].map((c) => h("th", {}, c)))), body));
  return subscribe("training", (changed) => {
    const byId = new Map(runs.map((t) => [t.id, t]));
    for (const t of changed) byId.set(t.id, t);
    runs.splice(0, runs.length, ...[...byId.values()].sort((a, b) => b.id - a.id));
    render(runs);
  });
}

export async function trainingRun(page, id) {
  const draw = async () => {
    const d = await json(`/api/training/${id}`);
    const t = d.run;
    page.replaceChildren(...[h("h1", {}, `Training run ${t.id}: ${t.kind} ${t.modelSize} on ${t.dataset}`),
      h("p", {}, `${t.state}, step ${t.step} / ${t.totalSteps}, seed ${t.seed}`, h("br"), h("span", { class: "muted" }, t.outputDir)),
      t.error ? h("p", { class: "error" }, t.error) : null,
      lossChart(d.metrics)].filter(Boolean));
  };
  await draw();
  return subscribe("training", (changed) => { if (changed.some((c) => String(c.id) === String(id))) draw(); });
}

export async function segment(page, id) {
  const s = await json(`/api/segments/${id}`);
  return openViewer(page, s);
}
