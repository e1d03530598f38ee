// three.js for the mesh view, loaded the first time a mesh is drawn, and the
// one WebGL renderer every card shares (a page gets only about 16 contexts);
// the meshes' binary form as the server sends it; json_config's lights.

import type * as Three from "three";
import { ApiError, request } from "../../api";

const BACKGROUND = "#f0f2f5";

/** The parts of TensorBoard's json_config (three.js class names and settings) that are honoured. */
export interface MeshConfig {
  camera?: { fov?: unknown };
  material?: Record<string, unknown>;
  lights?: Record<string, unknown>[];
}

export interface MeshHeader {
  step: number;
  item: number;
  items: number;
  vertex_count: number;
  face_count: number;
  has_colors: boolean;
  problem: string | null;
}

export interface MeshData {
  header: MeshHeader;
  vertices: Float32Array;
  faces: Uint32Array | null;
  colors: Uint8Array | null;
}

// -- three.js, loaded on first use, and the one renderer -------------------------

async function loadThree() {
  // Destructured, so that the bundler keeps only these classes of three.js.
  const {
    AmbientLight,
    BufferAttribute,
    BufferGeometry,
    Color,
    DirectionalLight,
    DoubleSide,
    HemisphereLight,
    Mesh,
    MeshBasicMaterial,
    MeshLambertMaterial,
    MeshPhongMaterial,
    MeshStandardMaterial,
    PerspectiveCamera,
    PointLight,
    Points,
    PointsMaterial,
    Scene,
    Vector3,
    WebGLRenderer,
  } = await import("three");
  const { OrbitControls } = await import("three/examples/jsm/controls/OrbitControls.js");
  return {
    AmbientLight,
    BufferAttribute,
    BufferGeometry,
    Color,
    DirectionalLight,
    DoubleSide,
    HemisphereLight,
    Mesh,
    MeshBasicMaterial,
    MeshLambertMaterial,
    MeshPhongMaterial,
    MeshStandardMaterial,
    OrbitControls,
    PerspectiveCamera,
    PointLight,
    Points,
    PointsMaterial,
    Scene,
    Vector3,
    WebGLRenderer,
  };
}

export type Kit = Awaited<ReturnType<typeof loadThree>>;

let kitLoading: Promise<Kit> | null = null;
let webgl: boolean | undefined;
let renderer: Three.WebGLRenderer | null | undefined;

/** The renderer every card draws with, once made (null: none could be). */
export function sharedRenderer(): Three.WebGLRenderer | null {
  return renderer ?? null;
}
/** What every card does to draw again (after the WebGL context was lost and restored). */
export const painters = new Set<() => void>();

/** three.js and the shared renderer, or null when this browser has no WebGL 2 (three.js needs it). */
export async function graphics(): Promise<{ kit: Kit; renderer: Three.WebGLRenderer } | null> {
  webgl ??= hasWebGL2();
  if (!webgl) return null;
  kitLoading ??= loadThree().catch((error: unknown) => {
    kitLoading = null; // tried again by the next card or step
    throw new Error(`three.js could not be loaded (${(error as Error).message})`);
  });
  const kit = await kitLoading;
  if (renderer === undefined) {
    try {
      renderer = new kit.WebGLRenderer({ antialias: true });
      renderer.setClearColor(new kit.Color(BACKGROUND));
      // three.js builds its buffers again once the context is back; every card then draws again.
      renderer.domElement.addEventListener("webglcontextrestored", () => painters.forEach((paint) => paint()));
    } catch {
      renderer = null;
    }
  }
  return renderer ? { kit, renderer } : null;
}

function hasWebGL2(): boolean {
  try {
    const context = document.createElement("canvas").getContext("webgl2");
    context?.getExtension("WEBGL_lose_context")?.loseContext(); // give the slot back at once
    return context !== null;
  } catch {
    return false;
  }
}

// -- the data ----------------------------------------------------------------------

export async function fetchMesh(path: string, signal: AbortSignal): Promise<MeshData> {
  return decodeMesh(await (await request(path, { signal })).arrayBuffer());
}

/** Reads the SSM1 form (stepscope.server.views_mesh.mesh_binary). */
function decodeMesh(buffer: ArrayBuffer): MeshData {
  const bytes = new Uint8Array(buffer);
  if (String.fromCharCode(...bytes.subarray(0, 4)) !== "SSM1") {
    throw new ApiError(0, "the server sent a mesh in an unknown form");
  }
  const length = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as MeshHeader;
  let offset = 8 + length;
  const vertices = new Float32Array(buffer, offset, header.vertex_count * 3);
  offset += vertices.byteLength;
  let faces: Uint32Array | null = null;
  if (header.face_count > 0) {
    faces = new Uint32Array(buffer, offset, header.face_count * 3);
    offset += faces.byteLength;
  }
  const colors = header.has_colors ? new Uint8Array(buffer, offset, header.vertex_count * 3) : null;
  return { header, vertices, faces, colors };
}

// sRGB bytes to the linear values three.js works in, so a logged colour shows as itself.
const LINEAR = Float32Array.from({ length: 256 }, (_, i) => {
  const c = i / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

export function linearColors(colors: Uint8Array): Float32Array {
  const out = new Float32Array(colors.length);
  for (let i = 0; i < colors.length; i++) out[i] = LINEAR[colors[i]];
  return out;
}

export const number = (value: unknown, fallback: number): number =>
  typeof value === "number" && Number.isFinite(value) ? value : fallback;

/** A light of json_config's ``lights`` ({cls, color, intensity, position}), or null for an unknown class. */
export function makeLight(kit: Kit, spec: Record<string, unknown>): Three.Light | null {
  const color = typeof spec.color === "string" || typeof spec.color === "number" ? spec.color : 0xffffff;
  const intensity = number(spec.intensity, 1);
  let light: Three.Light;
  switch (spec.cls) {
    case "AmbientLight":
      light = new kit.AmbientLight(color, intensity);
      break;
    case "DirectionalLight":
      light = new kit.DirectionalLight(color, intensity);
      break;
    case "PointLight":
      light = new kit.PointLight(color, intensity, 0, 0);
      break;
    case "HemisphereLight":
      light = new kit.HemisphereLight(color, 0x444444, intensity);
      break;
    default:
      return null;
  }
  const at = spec.position;
  if (Array.isArray(at) && at.length === 3) light.position.set(number(at[0], 0), number(at[1], 0), number(at[2], 0));
  return light;
}
