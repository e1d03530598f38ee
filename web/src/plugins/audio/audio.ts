// The audio view: a card per run and tag with the clips of one step, each a
// player and its waveform, and a slider over every step. The waveform comes
// from the clip's own bytes: WAV in PCM or float is read here (torch writes
// mono 16-bit PCM); any other encoding is left to the browser's decoder.
//
// The label of a clip says what its bytes say (type, duration, rate,
// channels): the API has no per-clip Markdown labels (TF2's [k, 2] audio
// tensors carry one) yet.

import "./audio.css";
import { getJson, request } from "../../api";
import { messageLine, runLabel, StepSlider, LazyCard, TagCardsView, type View } from "../../cards";
import { runColor } from "../../colors";
import { formatDuration } from "../../format";
import { cardHead, el } from "../../runs";
import type { Store } from "../../state";

interface BlobInfo {
  step: number;
  wall_time: number;
  index: number;
  content_type: string;
  length: number;
  url: string;
}

/** A clip's samples, one array per channel, in [-1, 1]. */
export interface DecodedAudio {
  /** Null when the browser decoded the clip: it resamples, so the file's rate is unknown. */
  sampleRate: number | null;
  channels: Float32Array[];
  duration: number;
  encoding: string;
}

type SampleReader = (view: DataView, offset: number) => number;

/** How to read one sample of a WAV format code (1 PCM, 3 float) and bit depth; null if not read here. */
function sampleReader(code: number, bits: number): SampleReader | null {
  if (code === 1 && bits === 8) return (v, o) => (v.getUint8(o) - 128) / 128;
  if (code === 1 && bits === 16) return (v, o) => v.getInt16(o, true) / 32768;
  if (code === 1 && bits === 24) {
    return (v, o) => (v.getUint8(o) | (v.getUint8(o + 1) << 8) | (v.getInt8(o + 2) << 16)) / 8388608;
  }
  if (code === 1 && bits === 32) return (v, o) => v.getInt32(o, true) / 2147483648;
  if (code === 3 && bits === 32) return (v, o) => v.getFloat32(o, true);
  if (code === 3 && bits === 64) return (v, o) => v.getFloat64(o, true);
  return null;
}

/** A WAV file's samples, or why they cannot be read here. */
export function parseWav(buffer: ArrayBuffer): DecodedAudio | string {
  const view = new DataView(buffer);
  const size = buffer.byteLength;
  const fourcc = (at: number): string =>
    String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
  if (size < 12 || fourcc(0) !== "RIFF" || fourcc(8) !== "WAVE") return "it is not a WAV file";
  let format: { code: number; channels: number; rate: number; bits: number } | null = null;
  let data: { start: number; length: number } | null = null;
  for (let at = 12; at + 8 <= size && data === null; ) {
    const id = fourcc(at);
    const length = view.getUint32(at + 4, true);
    const start = at + 8;
    if (id === "fmt ") {
      if (length < 16 || start + 16 > size) return "its format chunk is cut short";
      let code = view.getUint16(start, true);
      // WAVE_FORMAT_EXTENSIBLE: the real code opens the sub-format GUID.
      if (code === 0xfffe && length >= 26 && start + 26 <= size) code = view.getUint16(start + 24, true);
      format = {
        code,
        channels: view.getUint16(start + 2, true),
        rate: view.getUint32(start + 4, true),
        bits: view.getUint16(start + 14, true),
      };
    } else if (id === "data") {
      // Streamed files may give 0 or 0xFFFFFFFF as the length: take what is there.
      const rest = size - start;
      data = { start, length: length === 0 || length > rest ? rest : length };
    }
    at = start + length + (length & 1);
  }
  if (format === null) return "it has no format chunk";
  if (data === null) return "it has no data chunk";
  if (format.channels < 1 || format.rate < 1) return "its format chunk is invalid";
  const read = sampleReader(format.code, format.bits);
  if (read === null) return `its encoding (format ${format.code}, ${format.bits} bits) is not read here`;
  const bytes = format.bits / 8;
  const frames = Math.floor(data.length / (bytes * format.channels));
  const channels = Array.from({ length: format.channels }, () => new Float32Array(frames));
  let offset = data.start;
  for (let frame = 0; frame < frames; frame++) {
    for (const channel of channels) {
      channel[frame] = read(view, offset);
      offset += bytes;
    }
  }
  return {
    sampleRate: format.rate,
    channels,
    duration: frames / format.rate,
    encoding: format.code === 3 ? `${format.bits}-bit float` : `${format.bits}-bit PCM`,
  };
}

/** The clip decoded: by parseWav if it can, else by the browser (any format it knows). */
export async function decodeAudio(buffer: ArrayBuffer): Promise<DecodedAudio> {
  const parsed = parseWav(buffer);
  if (typeof parsed !== "string") return parsed;
  try {
    const context = new OfflineAudioContext(1, 1, 44100);
    const decoded = await context.decodeAudioData(buffer.slice(0));
    const channels = Array.from({ length: decoded.numberOfChannels }, (_, i) => decoded.getChannelData(i));
    return { sampleRate: null, channels, duration: decoded.duration, encoding: "" };
  } catch {
    throw new Error(`${parsed}, and the browser cannot decode it either`);
  }
}

/** The waveform: for each pixel column, a bar from the lowest to the highest sample it covers. */
export function drawWaveform(canvas: HTMLCanvasElement, audio: DecodedAudio, color: string): void {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round((canvas.clientWidth || 400) * ratio));
  const height = Math.max(1, Math.round((canvas.clientHeight || 96) * ratio));
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  if (!context) return;
  context.clearRect(0, 0, width, height);
  const lane = height / audio.channels.length;
  audio.channels.forEach((samples, c) => {
    const middle = lane * c + lane / 2;
    const half = lane / 2 - ratio;
    context.fillStyle = "#c8ced6";
    context.fillRect(0, Math.round(middle), width, Math.max(1, Math.round(ratio / 2)));
    context.fillStyle = color;
    const frames = samples.length;
    for (let x = 0; x < width; x++) {
      const start = Math.floor((x * frames) / width);
      const end = Math.max(start + 1, Math.floor(((x + 1) * frames) / width));
      if (start >= frames) break;
      let low = Infinity;
      let high = -Infinity;
      for (let i = start; i < end && i < frames; i++) {
        const s = samples[i];
        if (s < low) low = s;
        if (s > high) high = s;
      }
      if (!Number.isFinite(low) || !Number.isFinite(high)) continue; // NaN samples in a float WAV
      const top = middle - Math.min(1, high) * half;
      const bottom = middle - Math.max(-1, low) * half;
      context.fillRect(x, top, 1, Math.max(1, bottom - top));
    }
  });
}

function describeClip(blob: BlobInfo, audio: DecodedAudio | null): string {
  const parts = [blob.content_type || "audio of unknown type"];
  if (audio) {
    parts.push(formatDuration(audio.duration));
    if (audio.sampleRate !== null) parts.push(`${audio.sampleRate.toLocaleString("en-US")} Hz`);
    const n = audio.channels.length;
    parts.push(n === 1 ? "mono" : n === 2 ? "stereo" : `${n} channels`);
    if (audio.encoding) parts.push(audio.encoding);
  }
  parts.push(`${(blob.length / 1024).toFixed(1)} KiB`);
  return parts.join(" · ");
}

/** One clip: its waveform (with where the player is), the player, a label and a message. */
class AudioClip {
  readonly root: HTMLElement;
  private canvas: HTMLCanvasElement;
  private playhead: HTMLElement;
  private player: HTMLAudioElement;
  private label: HTMLElement;
  private message = messageLine();
  private decoded: DecodedAudio | null = null;
  private resize: ResizeObserver;

  constructor(
    private blob: BlobInfo,
    private color: string,
    what: string,
  ) {
    this.root = el("div", "audio-clip");
    this.root.dataset.index = String(blob.index);
    const frame = el("div", "audio-wave-frame");
    this.canvas = document.createElement("canvas");
    this.canvas.className = "audio-wave";
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", `Waveform of ${what}`);
    this.canvas.addEventListener("click", (event) => this.seek(event));
    this.playhead = el("div", "audio-playhead");
    this.playhead.hidden = true;
    frame.append(this.canvas, this.playhead);
    this.player = document.createElement("audio");
    this.player.controls = true;
    this.player.preload = "metadata";
    this.player.src = blob.url;
    for (const name of ["timeupdate", "seeked", "loadedmetadata"]) {
      this.player.addEventListener(name, () => this.movePlayhead());
    }
    this.player.addEventListener("play", () => this.follow());
    this.label = el("div", "audio-label");
    this.label.textContent = describeClip(blob, null);
    this.root.append(frame, this.player, this.label, this.message.root);
    this.resize = new ResizeObserver(() => {
      if (this.decoded) drawWaveform(this.canvas, this.decoded, this.color);
    });
  }

  /** Fetches and draws the clip; false if its bytes cannot be decoded. */
  async decode(): Promise<boolean> {
    try {
      const response = await request(this.blob.url);
      this.decoded = await decodeAudio(await response.arrayBuffer());
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.message.show(`This clip cannot be decoded: ${reason}.`, true);
      return false;
    }
    this.label.textContent = describeClip(this.blob, this.decoded);
    drawWaveform(this.canvas, this.decoded, this.color);
    this.canvas.dataset.drawn = "true";
    this.resize.observe(this.canvas);
    return true;
  }

  dispose(): void {
    this.resize.disconnect();
    this.player.pause();
  }

  private duration(): number {
    return Number.isFinite(this.player.duration) ? this.player.duration : (this.decoded?.duration ?? 0);
  }

  private movePlayhead(): void {
    const duration = this.duration();
    this.playhead.hidden = duration <= 0 || (this.player.paused && this.player.currentTime === 0);
    if (duration > 0) this.playhead.style.left = `${Math.min(100, (100 * this.player.currentTime) / duration)}%`;
  }

  private follow(): void {
    this.movePlayhead();
    if (!this.player.paused && this.root.isConnected) requestAnimationFrame(() => this.follow());
  }

  private seek(event: MouseEvent): void {
    const duration = this.duration();
    if (duration <= 0) return;
    const box = this.canvas.getBoundingClientRect();
    this.player.currentTime = (Math.max(0, event.clientX - box.left) / box.width) * duration;
    this.movePlayhead();
  }
}

class AudioCard extends LazyCard {
  readonly card: HTMLElement;
  private blobs: BlobInfo[] = [];
  private clips: AudioClip[] = [];
  private slider: StepSlider;
  private frame: HTMLElement;
  protected readonly message = messageLine();
  private shows = 0;
  private shownUrls = "";

  constructor(
    readonly run: string,
    readonly tag: string,
  ) {
    super();
    this.card = el("div", "card audio-card");
    this.card.dataset.state = "waiting";
    const head = cardHead(tag);
    head.append(runLabel(run));
    this.slider = new StepSlider(`${tag} in ${run}`, () => this.show());
    this.frame = el("div", "audio-clips");
    this.card.append(head, this.frame, this.message.root, this.slider.root);
  }

  protected async load(stale: () => boolean): Promise<void> {
    const params = new URLSearchParams({ run: this.run, tag: this.tag });
    const body = await getJson<{ blobs: BlobInfo[] }>(`api/blobs?${params}`);
    if (stale()) return; // a newer load is on its way
    this.blobs = body.blobs;
    this.slider.setSteps([...new Set(this.blobs.map((b) => b.step))].sort((a, b) => a - b));
    this.show();
  }

  protected override failed(error: unknown): void {
    this.shownUrls = ""; // the next load draws afresh
    super.failed(error);
  }

  private show(): void {
    const step = this.slider.step;
    const last = new Map<number, BlobInfo>();
    for (const blob of this.blobs) if (blob.step === step) last.set(blob.index, blob); // the last logged wins
    const chosen = [...last.values()].sort((a, b) => a.index - b.index);
    const urls = chosen.map((blob) => blob.url).join("\n");
    if (step !== undefined && urls === this.shownUrls) {
      // The same clips (the logdir changed elsewhere): keep the players, and what they are playing.
      this.slider.describe(chosen.length > 1 ? `${chosen.length} clips` : "");
      return;
    }
    this.shownUrls = urls;
    const generation = ++this.shows;
    for (const clip of this.clips) clip.dispose();
    if (step === undefined) {
      this.clips = [];
      this.frame.replaceChildren();
      this.message.show("No audio yet.");
      this.card.dataset.state = "empty";
      return;
    }
    const color = runColor(this.run);
    this.clips = chosen.map((blob) => new AudioClip(blob, color, `${this.tag} at step ${step}`));
    this.frame.replaceChildren(...this.clips.map((clip) => clip.root));
    this.message.show("");
    this.card.dataset.step = String(step);
    this.card.dataset.state = "loading";
    this.slider.describe(chosen.length > 1 ? `${chosen.length} clips` : "");
    void Promise.all(this.clips.map((clip) => clip.decode())).then((decoded) => {
      if (generation === this.shows) this.card.dataset.state = decoded.every(Boolean) ? "shown" : "error";
    });
  }
}

/** The audio view: cards of every audio tag, each clip with its player and waveform. */
export function audioView(store: Store, shownRuns: () => Set<string>, plugin: string): View {
  return new TagCardsView(store, shownRuns, {
    className: "audio-view",
    accepts: (meta) => meta.plugin === plugin,
    makeCard: (run, tag) => new AudioCard(run, tag),
    emptyText: "No audio for the runs and tags shown.",
  });
}
