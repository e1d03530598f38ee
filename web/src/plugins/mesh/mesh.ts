// The mesh view: a card per run and mesh (a point cloud, or triangles when
// faces were logged), drawn with three.js and turned by dragging. three.js is
// loaded the first time a mesh is drawn, so the other tabs never pay for it.
// Every card draws with one shared WebGL context (a page gets only about 16)
// and copies the picture into a 2D canvas of its own; it draws only when
// something changed, never in a loop. The meshes are those the server lists
// from the tags' mesh metadata (its name and parts), whatever the tags are
// called: torch names them <name>_VERTEX, tensorboardX <name>_1.

import "./mesh.css";
import type * as Three from "three";
import type { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { errorText, getJson, type TagMeta, type TagsByRun } from "../../api";
import { messageLine, runLabel, StepSlider, LazyCard, TagCardsView, type View } from "../../cards";
import { onThemeChange, runColor } from "../../colors";
import { button, cardHead, el } from "../../runs";
import type { Store } from "../../state";
import {
  fetchMesh,
  graphics,
  linearColors,
  makeLight,
  number,
  painters,
  sharedRenderer,
  type Kit,
  type MeshConfig,
  type MeshData,
  type MeshHeader,
} from "./meshGraphics";

const HEIGHT = 320; // px, a card's drawing
const NO_WEBGL = "WebGL is not available in this browser, so the mesh cannot be drawn.";

/** A mesh as /api/plugins/mesh/meshes lists it. */
interface MeshInfo {
  name: string;
  display_name: string;
  description: string;
  components: string[];
  steps: number[];
  config: MeshConfig | null;
}

// -- a card ---------------------------------------------------------------------------

class MeshCard extends LazyCard {
  readonly card: HTMLElement;
  private slider: StepSlider;
  protected readonly message = messageLine();
  private canvas: HTMLCanvasElement;
  private frame: HTMLElement;
  private itemSelect: HTMLSelectElement;
  private info: MeshInfo | null = null;
  private request: AbortController | null = null;
  private kit: Kit | null = null;
  private scene: Three.Scene | null = null;
  private camera: Three.PerspectiveCamera | null = null;
  private controls: OrbitControls | null = null;
  private shape: Three.Points | Three.Mesh | null = null;
  private moved = false; // the person turned the view: keep it from step to step
  private frameRequest = 0;
  private readonly paint = (): void => this.schedule();

  constructor(
    readonly run: string,
    readonly name: string,
  ) {
    super();
    this.card = el("div", "card mesh-card");
    this.card.dataset.state = "waiting";
    this.card.dataset.mesh = name;
    const head = cardHead(name);
    this.itemSelect = document.createElement("select");
    this.itemSelect.className = "mesh-item";
    this.itemSelect.hidden = true;
    this.itemSelect.setAttribute("aria-label", `Item of the batch of ${name} in ${run}`);
    this.itemSelect.addEventListener("change", () => void this.show());
    const reset = button("Reset view", "Turn the camera back to show the whole mesh", () => this.resetView());
    reset.className = "mesh-reset";
    const tools = el("span", "card-tools");
    tools.append(this.itemSelect, reset);
    head.append(runLabel(run), tools);
    this.frame = el("div", "mesh-frame");
    this.canvas = document.createElement("canvas");
    this.canvas.className = "mesh-canvas";
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", `${name} in ${run}, in 3D: drag to turn, scroll to zoom`);
    this.frame.append(this.canvas, this.message.root); // the message shows over the drawing
    this.slider = new StepSlider(`${name} in ${run}`, () => void this.show());
    this.card.append(head, this.frame, this.slider.root);
    new ResizeObserver(() => this.schedule()).observe(this.frame);
    onThemeChange(() => this.schedule());
  }

  private fail(text: string): void {
    this.clearShape();
    this.message.show(text, true);
    this.card.dataset.state = "error";
  }

  protected async load(stale: () => boolean): Promise<void> {
    const params = new URLSearchParams({ run: this.run, name: this.name });
    const body = await getJson<{ meshes: MeshInfo[] }>(`api/plugins/mesh/meshes?${params}`);
    if (stale()) return;
    this.info = body.meshes[0];
    this.slider.setSteps(this.info.steps);
    await this.show();
  }

  protected override failed(error: unknown): void {
    this.clearShape();
    super.failed(error);
  }

  private async show(): Promise<void> {
    const step = this.slider.step;
    if (step === undefined) {
      this.message.show("No steps of this mesh yet.");
      return;
    }
    this.request?.abort();
    const request = (this.request = new AbortController());
    this.card.dataset.state = "waiting";
    const params = new URLSearchParams({
      run: this.run,
      name: this.name,
      step: String(step),
      item: this.itemSelect.value || "0",
      format: "binary",
    });
    try {
      const [data, found] = await Promise.all([
        fetchMesh(`api/plugins/mesh/mesh?${params}`, request.signal),
        graphics(),
      ]);
      if (request.signal.aborted) return;
      this.showItems(data.header);
      this.card.dataset.step = String(step);
      this.card.dataset.vertices = String(data.header.vertex_count);
      this.card.dataset.faces = String(data.header.face_count);
      if (data.header.problem) {
        this.slider.describe("");
        this.fail(`This mesh cannot be drawn: ${data.header.problem}.`);
      } else if (found === null) {
        this.fail(NO_WEBGL);
      } else {
        this.draw(found.kit, data);
      }
    } catch (error) {
      if ((error as Error).name === "AbortError") return;
      this.fail(error instanceof Error ? error.message : String(error));
    }
  }

  /** The item selector, when the batch holds more than one mesh. */
  private showItems(header: MeshHeader): void {
    if (this.itemSelect.options.length !== header.items) {
      this.itemSelect.replaceChildren(
        ...Array.from({ length: header.items }, (_, i) => new Option(`item ${i + 1} of ${header.items}`, String(i))),
      );
    }
    this.itemSelect.value = String(header.item);
    this.itemSelect.hidden = header.items < 2;
    this.card.dataset.item = String(header.item);
  }

  private draw(kit: Kit, data: MeshData): void {
    this.kit = kit;
    if (!this.scene) this.makeScene(kit);
    this.clearShape();
    const geometry = new kit.BufferGeometry();
    geometry.setAttribute("position", new kit.BufferAttribute(data.vertices, 3));
    if (data.colors) geometry.setAttribute("color", new kit.BufferAttribute(linearColors(data.colors), 3));
    const config = this.info?.config ?? {};
    if (data.faces) {
      geometry.setIndex(new kit.BufferAttribute(data.faces, 1));
      geometry.computeVertexNormals();
      this.shape = new kit.Mesh(geometry, this.surfaceMaterial(kit, config, data.colors !== null));
    } else {
      this.shape = new kit.Points(geometry, this.pointsMaterial(kit, config, data.colors !== null));
    }
    this.scene!.add(this.shape);
    if (!this.moved) this.fit();
    const vertices = data.header.vertex_count.toLocaleString("en-US");
    const faces = data.header.face_count.toLocaleString("en-US");
    this.slider.describe(data.faces ? `${vertices} vertices, ${faces} faces` : `${vertices} points`);
    this.message.show(data.header.vertex_count === 0 ? "No vertices at this step." : "");
    this.render();
    this.card.dataset.state = "drawn";
  }

  private makeScene(kit: Kit): void {
    const config = this.info?.config ?? {};
    this.scene = new kit.Scene();
    this.camera = new kit.PerspectiveCamera(number(config.camera?.fov, 45), 1, 0.01, 1000);
    // The lights ride with the camera, so the side in view is always lit.
    this.scene.add(this.camera);
    for (const light of this.lights(kit, config)) this.camera.add(light);
    this.controls = new kit.OrbitControls(this.camera, this.canvas);
    this.controls.addEventListener("change", () => this.schedule());
    this.controls.addEventListener("start", () => (this.moved = true));
    painters.add(this.paint);
  }

  private lights(kit: Kit, config: MeshConfig): Three.Light[] {
    const made = (Array.isArray(config.lights) ? config.lights : [])
      .map((spec) => makeLight(kit, spec))
      .filter((light) => light !== null);
    if (made.length === 0) {
      const key = new kit.DirectionalLight(0xffffff, 2.2);
      key.position.set(0.5, 1, 1);
      made.push(new kit.AmbientLight(0xffffff, 0.9), key);
    }
    return made;
  }

  private pointsMaterial(kit: Kit, config: MeshConfig, colored: boolean): Three.Material {
    const size = config.material?.size;
    // A size from the config is in scene units (as in three.js); otherwise points are 3 pixels wide.
    return new kit.PointsMaterial({
      size: number(size, 3),
      sizeAttenuation: typeof size === "number",
      vertexColors: colored,
      color: colored ? 0xffffff : runColor(this.run),
    });
  }

  private surfaceMaterial(kit: Kit, config: MeshConfig, colored: boolean): Three.Material {
    const spec = config.material ?? {};
    const common = {
      vertexColors: colored,
      color: colored ? 0xffffff : runColor(this.run),
      side: kit.DoubleSide, // faces wound either way are seen
      wireframe: spec.wireframe === true,
      transparent: typeof spec.opacity === "number" && spec.opacity < 1,
      opacity: number(spec.opacity, 1),
    };
    const flatShading = spec.flatShading === true;
    switch (spec.cls) {
      case "MeshBasicMaterial":
        return new kit.MeshBasicMaterial(common);
      case "MeshLambertMaterial":
        return new kit.MeshLambertMaterial({ ...common, flatShading });
      case "MeshPhongMaterial":
        return new kit.MeshPhongMaterial({ ...common, flatShading, shininess: number(spec.shininess, 30) });
      default:
        return new kit.MeshStandardMaterial({
          ...common,
          flatShading,
          roughness: number(spec.roughness, 0.8),
          metalness: number(spec.metalness, 0),
        });
    }
  }

  /** The camera back to a view of the whole bounding sphere, from above and to the side. */
  private fit(): void {
    const geometry = this.shape?.geometry;
    if (!geometry || !this.camera || !this.controls || !this.kit) return;
    geometry.computeBoundingSphere();
    const sphere = geometry.boundingSphere!;
    const radius = sphere.radius > 0 && Number.isFinite(sphere.radius) ? sphere.radius : 1;
    const aspect = Math.max(this.frame.clientWidth, 1) / HEIGHT;
    const half = (this.camera.fov * Math.PI) / 360;
    const narrowest = aspect < 1 ? Math.atan(Math.tan(half) * aspect) : half;
    const distance = (radius / Math.sin(narrowest)) * 1.05;
    const direction = new this.kit.Vector3(1, 0.7, 1.4).normalize();
    this.camera.position.copy(sphere.center).addScaledVector(direction, distance);
    this.camera.near = distance / 100;
    this.camera.far = distance * 100;
    this.camera.updateProjectionMatrix();
    this.controls.target.copy(sphere.center);
    this.controls.update();
  }

  private resetView(): void {
    this.moved = false;
    this.fit();
    this.schedule();
  }

  private clearShape(): void {
    if (!this.shape) return;
    this.scene?.remove(this.shape);
    this.shape.geometry.dispose();
    (this.shape.material as Three.Material).dispose();
    this.shape = null;
    this.render(); // the background alone: nothing wrong stays on show
  }

  private schedule(): void {
    if (this.frameRequest) return;
    this.frameRequest = requestAnimationFrame(() => {
      this.frameRequest = 0;
      this.render();
    });
  }

  /** Draws with the shared renderer, then copies the picture into this card's canvas. */
  private render(): void {
    const renderer = sharedRenderer();
    if (!renderer || !this.scene || !this.camera) return;
    const width = this.frame.clientWidth;
    if (width === 0) return;
    const ratio = window.devicePixelRatio || 1;
    renderer.setPixelRatio(ratio);
    renderer.setSize(width, HEIGHT, false);
    this.camera.aspect = width / HEIGHT;
    this.camera.updateProjectionMatrix();
    // One renderer serves every card: the background is the theme's frame colour at each draw.
    renderer.setClearColor(getComputedStyle(this.frame).getPropertyValue("--frame").trim() || "#f0f2f5");
    renderer.render(this.scene, this.camera);
    const source = renderer.domElement;
    if (this.canvas.width !== source.width || this.canvas.height !== source.height) {
      this.canvas.width = source.width;
      this.canvas.height = source.height;
    }
    // Copied in the same task as the drawing, while the WebGL buffer still holds it.
    this.canvas.getContext("2d")?.drawImage(source, 0, 0);
  }
}

/** The meshes of a run as cards are keyed: by mesh name, as the server reads them from the metadata. */
type MeshesOfRun = Record<string, TagMeta>;

/**
 * The mesh view: a card per run and mesh. A mesh is several tags (its parts);
 * which tags make which mesh comes from the server's listing of each shown
 * run, fetched again when the run's mesh tags change. The cards are a
 * TagCardsView over the meshes' names instead of the tags.
 */
class MeshesView implements View {
  readonly root: HTMLElement;
  private cards: TagCardsView<MeshCard>;
  private problem = el("p", "empty error mesh-list-error");
  private tags: TagsByRun = {};
  /** Each run's meshes, with the mesh tags they were listed from. */
  private listed = new Map<string, { from: string; meshes: MeshesOfRun }>();
  private listing = 0;

  constructor(
    store: Store,
    private shownRuns: () => Set<string>,
  ) {
    this.cards = new TagCardsView(store, shownRuns, {
      className: "meshes",
      accepts: (meta) => meta.plugin === "mesh",
      makeCard: (run, name) => new MeshCard(run, name),
      emptyText: "No meshes or point clouds for the runs and tags shown.",
    });
    this.root = this.cards.root;
    this.problem.hidden = true;
    this.root.insertBefore(this.problem, this.root.children[1] ?? null);
  }

  setTags(tags: TagsByRun): void {
    this.tags = tags;
    void this.list();
  }

  updateRuns(): void {
    void this.list();
  }

  invalidate(): void {
    this.cards.invalidate();
  }

  recolor(runs: Set<string>): void {
    this.cards.recolor(runs);
  }

  /** Lists the meshes of the shown runs whose mesh tags are new or changed, then shows the cards. */
  private async list(): Promise<void> {
    const listing = ++this.listing;
    const shown = this.shownRuns();
    const wanted = Object.entries(this.tags).filter(([run]) => shown.has(run));
    const problems: string[] = [];
    await Promise.all(
      wanted.map(async ([run, byTag]) => {
        const from = JSON.stringify(Object.keys(byTag).filter((tag) => byTag[tag].plugin === "mesh"));
        if (from === "[]") this.listed.delete(run);
        if (from === "[]" || this.listed.get(run)?.from === from) return;
        try {
          this.listed.set(run, { from, meshes: await listMeshes(run) });
        } catch (error) {
          problems.push(`The meshes of ${run} could not be listed: ${errorText(error)}`);
        }
      }),
    );
    if (listing !== this.listing) return; // a newer listing is under way
    this.problem.textContent = problems.join(" "); // text, never HTML
    this.problem.hidden = problems.length === 0;
    const meshes: TagsByRun = {};
    for (const [run] of wanted) {
      const found = this.listed.get(run);
      if (found && run in this.tags) meshes[run] = found.meshes;
    }
    this.cards.setTags(meshes);
  }
}

async function listMeshes(run: string): Promise<MeshesOfRun> {
  const params = new URLSearchParams({ run });
  const body = await getJson<{ meshes: MeshInfo[] }>(`api/plugins/mesh/meshes?${params}`);
  const meshes: MeshesOfRun = {};
  for (const mesh of body.meshes) {
    // A mesh without vertices (only its faces were logged) has nothing to draw.
    if (!mesh.components.includes("VERTEX")) continue;
    meshes[mesh.name] = { plugin: "mesh", display_name: mesh.display_name, description: mesh.description };
  }
  return meshes;
}

/** The mesh view (the tab "mesh"). */
export function meshView(store: Store, shownRuns: () => Set<string>, _plugin: string): View {
  return new MeshesView(store, shownRuns);
}
