// The segment viewer: the point cloud in an interactive WebGL view (three.js, orbit controls), the segment's images,
// and a point picked in 3D marked at its pixels in each image through the segment's correspondences.
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { h, api, json, fixed } from "./dom.js";

// A fixed palette for semantic labels (label % length); -1 (unlabelled) is grey.
const PALETTE = [[0.90, 0.30, 0.24], [0.20, 0.60, 0.86], [0.18, 0.80, 0.44], [0.95, 0.77, 0.06], [0.61, 0.35, 0.71], [0.90, 0.49, 0.13],
  [0.10, 0.74, 0.61], [0.93, 0.44, 0.80], [0.50, 0.55, 0.55], [0.55, 0.27, 0.07], [0.0, 0.5, 0.5], [0.6, 0.8, 0.2]];

/** Reads the /cloud payload: n x 3 float32 xyz, n x 3 uint8 rgb, then n int32 labels when labelled. */
export function parseCloud(buffer, n, labelled) {
  const coord = new Float32Array(buffer, 0, 3 * n);
  const rgb = new Uint8Array(buffer, 12 * n, 3 * n);
  const label = labelled ? new Int32Array(buffer.slice(15 * n, 19 * n)) : null;
  return { coord, rgb, label };
}

export async function openViewer(page, segment) {
  const n = segment.points;
  const cloud = parseCloud(await (await api(`/api/segments/${segment.id}/cloud`)).arrayBuffer(), n, segment.labelled);
  const canvas = h("canvas", { id: "cloud" });
  const picked = h("p", { id: "picked", class: "muted" }, "Click a point to see where it lies in the images.");
  const colourMode = h("select", { id: "colour-mode" }, h("option", { value: "rgb" }, "colour"), segment.labelled ? h("option", { value: "label" }, "semantic label") : null);
  const figures = segment.images.map((image) => {
    const figure = h("figure", { dataset: { slot: image.slot } },
      h("img", { src: `/api/segments/${segment.id}/images/${image.slot}`, alt: `image ${image.slot}`, width: image.width, height: image.height }),
      h("figcaption", {}, `image ${image.slot}: frame ${image.frameIndex} (${fixed(image.time, 2)} s), ${image.correspondences} correspondences, coverage ${fixed(image.coverage)}`));
    return { image, figure };
  });
  page.replaceChildren(h("h1", {}, `Segment ${segment.segmentKey}`),
    h("p", { class: "muted" }, `run `, h("a", { href: `#/runs/${segment.runId}` }, segment.runId),
      `; ${n} points, ${segment.correspondences} correspondences, mean coverage ${fixed(segment.meanCoverage)}${segment.retired ? "; retired (replaced by a later run)" : ""} `, colourMode),
    h("div", { class: "viewer" }, h("div", {}, canvas, picked), h("div", { class: "images" }, figures.map((f) => f.figure))));

  let renderer;
  try {
    renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
  } catch (e) {
    picked.textContent = `This browser cannot show the 3D view (WebGL unavailable: ${e.message}).`;
    picked.className = "error";
    return () => {};
  }
  renderer.setPixelRatio(window.devicePixelRatio);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0x10131a);
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute("position", new THREE.BufferAttribute(cloud.coord, 3));
  const colours = new Float32Array(3 * n);
  const paint = (mode) => {
    for (let i = 0; i < n; i++) {
      const c = mode === "label" ? (cloud.label[i] < 0 ? [0.4, 0.4, 0.4] : PALETTE[cloud.label[i] % PALETTE.length])
        : [cloud.rgb[3 * i] / 255, cloud.rgb[3 * i + 1] / 255, cloud.rgb[3 * i + 2] / 255];
      colours.set(c, 3 * i);
    }
    geometry.setAttribute("color", new THREE.BufferAttribute(colours, 3));
  };
  paint("rgb");
  geometry.computeBoundingSphere();
  const { center, radius } = geometry.boundingSphere;
  const points = new THREE.Points(geometry, new THREE.PointsMaterial({ size: radius / 150, vertexColors: true }));
  scene.add(points);
  const marker = new THREE.Mesh(new THREE.SphereGeometry(radius / 60), new THREE.MeshBasicMaterial({ color: 0xff3df2 }));
  marker.visible = false;
  scene.add(marker);

  const camera = new THREE.PerspectiveCamera(50, 1, radius / 100, radius * 20);
  camera.up.set(0, 0, 1); // scenes are z-up (floor at z = 0)
  const controls = new OrbitControls(camera, canvas);
  controls.target.copy(center);
  // The whole cloud in view: the camera backs off along a fixed oblique direction until the cloud's bounding sphere fits
  // the narrower of the two fields of view. Done on open and on every resize until the user turns the view.
  let turned = false;
  const fit = () => {
    const vertical = THREE.MathUtils.degToRad(camera.fov);
    const horizontal = 2 * Math.atan(Math.tan(vertical / 2) * camera.aspect);
    const distance = (1.05 * radius) / Math.sin(Math.min(vertical, horizontal) / 2);
    camera.position.copy(center).addScaledVector(new THREE.Vector3(1, -1, 0.75).normalize(), distance);
    camera.far = Math.max(radius * 20, distance + 2 * radius);
    camera.updateProjectionMatrix();
    controls.update();
  };
  const render = () => renderer.render(scene, camera);
  const resize = () => {
    const { clientWidth: w, clientHeight: ht } = canvas;
    renderer.setSize(w, ht, false);
    camera.aspect = w / Math.max(1, ht);
    camera.updateProjectionMatrix();
    if (!turned) fit();
    render();
  };
  controls.addEventListener("start", () => { turned = true; });
  controls.addEventListener("change", render);
  colourMode.addEventListener("change", () => { paint(colourMode.value); render(); });
  window.addEventListener("resize", resize);
  resize();

  const raycaster = new THREE.Raycaster();
  raycaster.params.Points.threshold = radius / 100;
  let down = null;
  canvas.addEventListener("pointerdown", (e) => { down = [e.clientX, e.clientY]; });
  canvas.addEventListener("pointerup", async (e) => {
    if (!down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 4) return; // a drag turns the view
    const box = canvas.getBoundingClientRect();
    raycaster.setFromCamera(new THREE.Vector2(((e.clientX - box.left) / box.width) * 2 - 1, -((e.clientY - box.top) / box.height) * 2 + 1), camera);
    const hit = raycaster.intersectObject(points)[0];
    if (hit) await pick(hit.index);
  });

  async function pick(index) {
    marker.position.fromArray(cloud.coord, 3 * index);
    marker.visible = true;
    render();
    for (const f of figures) f.figure.querySelectorAll(".marker").forEach((m) => m.remove());
    const pixels = await json(`/api/segments/${segment.id}/points/${index}/pixels`);
    for (const p of pixels) {
      const f = figures.find((x) => x.image.slot === p.slot);
      f?.figure.append(h("div", { class: "marker", dataset: { slot: p.slot }, style: `left:${(100 * p.column) / f.image.width}%;top:${(100 * p.row) / f.image.height}%` }));
    }
    const xyz = [0, 1, 2].map((a) => cloud.coord[3 * index + a].toFixed(2)).join(", ");
    picked.textContent = `point ${index} (${xyz})${cloud.label ? `, label ${cloud.label[index]}` : ""}: seen in ${pixels.length} of ${figures.length} images`;
    picked.dataset.index = index;
    picked.dataset.pixels = pixels.length;
  }

  // For tests and scripts: where point i is drawn on screen (client pixels), and the index of the best-seen point.
  window.concertoViewer = {
    screenOf(i) {
      const v = new THREE.Vector3().fromArray(cloud.coord, 3 * i).project(camera);
      const box = canvas.getBoundingClientRect();
      return { x: box.left + ((v.x + 1) / 2) * box.width, y: box.top + ((1 - v.y) / 2) * box.height };
    },
    points: n,
    /** The fraction of points drawn inside the canvas (in front of the camera, within its frame). */
    inView() {
      let inside = 0;
      const v = new THREE.Vector3();
      for (let i = 0; i < n; i++) {
        v.fromArray(cloud.coord, 3 * i).project(camera);
        if (Math.abs(v.x) <= 1 && Math.abs(v.y) <= 1 && v.z > -1 && v.z < 1) inside++;
      }
      return n === 0 ? 1 : inside / n;
    },
  };
  return () => { window.removeEventListener("resize", resize); controls.dispose(); renderer.dispose(); geometry.dispose(); delete window.concertoViewer; };
}
