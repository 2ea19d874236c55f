import type { ImageConditions } from './sidecar';
import type { ShapesDataConfig } from '../config/types';
import { UserError } from '../errors';
import type { ImageDataset } from './dataset';
import { Rng } from '../random/rng';

/**
 * An embedded procedural data set: one anti-aliased coloured shape per RGB image. The label is
 * the shape; colour, size, position and background are further sub-modes, so a GAN that
 * collapses onto a few of them is easy to spot, and the attributes can later drive tags.
 */

export const SHAPE_NAMES = ['circle', 'square', 'triangle', 'cross'] as const;
export const COLOUR_NAMES = [
  'red',
  'orange',
  'yellow',
  'green',
  'cyan',
  'blue',
  'purple',
  'magenta',
] as const;
export const SIZE_NAMES = ['small', 'medium', 'large'] as const;
export const POSITION_NAMES = [
  'top-left',
  'top',
  'top-right',
  'left',
  'centre',
  'right',
  'bottom-left',
  'bottom',
  'bottom-right',
] as const;

/** Proportions per unit of extent, so the four shapes cover similar areas at one size. */
const SQUARE_HALF_SIDE = 0.88;
const TRIANGLE_CIRCUMRADIUS = 1.2;
const CROSS_HALF_WIDTH = 0.34;
/** Hue in degrees of each entry of COLOUR_NAMES. */
const COLOUR_HUES = [0, 28, 55, 120, 185, 225, 275, 315];
/** Half-extent of each size bucket, as a fraction of the image side. */
const SIZE_EXTENTS = [0.17, 0.24, 0.31];
const HUE_JITTER_DEGREES = 6;
const SIZE_JITTER = 0.08;
const MAX_ROTATION_RADIANS = (10 * Math.PI) / 180;
/** Minimum RGB distance (channels in 0..1) between the shape and every background pixel. */
const MIN_CONTRAST = 0.55;
const GRADIENT_PROBABILITY = 0.3;
/** Sub-samples per pixel side for anti-aliasing edge pixels. */
const SUPERSAMPLE = 4;
/** Half the pixel diagonal: a centre farther than this from the edge is fully in or out. */
const PIXEL_RADIUS = Math.SQRT1_2;
export const MIN_SHAPES_RESOLUTION = 8;

export interface ShapeAttributes {
  /** Index into SHAPE_NAMES; also the label. */
  shape: number;
  /** Index into COLOUR_NAMES. */
  colour: number;
  /** Index into SIZE_NAMES. */
  size: number;
  /** Index into POSITION_NAMES (3×3 grid, row-major). */
  position: number;
}

export interface ShapeAttributeNames {
  shape: readonly string[];
  colour: readonly string[];
  size: readonly string[];
  position: readonly string[];
}

export interface ShapesDatasetWithAttributes {
  dataset: ImageDataset;
  /** One entry per image, in dataset order. */
  attributes: ShapeAttributes[];
  attributeNames: ShapeAttributeNames;
}

/** The shapes, with their attributes as tag conditions. */
export function createShapesDataset(cfg: ShapesDataConfig): ImageDataset {
  const withAttributes = createShapesDatasetWithAttributes(cfg);
  return { ...withAttributes.dataset, conditions: shapesTagConditions(withAttributes) };
}

export function createShapesDatasetWithAttributes(
  cfg: ShapesDataConfig,
): ShapesDatasetWithAttributes {
  if (!Number.isInteger(cfg.resolution) || cfg.resolution < MIN_SHAPES_RESOLUTION) {
    throw new UserError(
      `data.resolution: the shapes source needs an integer of at least ${MIN_SHAPES_RESOLUTION}, got ${cfg.resolution}`,
    );
  }
  if (!Number.isInteger(cfg.count) || cfg.count < 1) {
    throw new UserError(`data.count: must be a positive integer, got ${cfg.count}`);
  }

  const side = cfg.resolution;
  const imageSize = side * side * 3;
  const images = new Float32Array(cfg.count * imageSize);
  const labels = new Int32Array(cfg.count);
  const attributes: ShapeAttributes[] = [];
  const random = seededRandom(cfg.seed);
  const coverage = new Float32Array(side * side);

  for (let i = 0; i < cfg.count; i++) {
    const scene = sampleScene(random, side);
    rasterise(scene.shape, scene.box, side, coverage);
    paint(scene, coverage, side, images, i * imageSize);
    labels[i] = scene.attributes.shape;
    attributes.push(scene.attributes);
  }

  const dataset: ImageDataset = {
    source: 'shapes',
    description: `shapes (seed ${cfg.seed}): ${cfg.count} images ${side}×${side}×3, ${SHAPE_NAMES.length} classes`,
    count: cfg.count,
    height: side,
    width: side,
    channels: 3,
    images,
    labels,
    classNames: [...SHAPE_NAMES],
    skipped: [],
  };
  return {
    dataset,
    attributes,
    attributeNames: {
      shape: [...SHAPE_NAMES],
      colour: [...COLOUR_NAMES],
      size: [...SIZE_NAMES],
      position: [...POSITION_NAMES],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Random numbers

/** A uniform number generator on [0, 1). */
export type Random = () => number;

/** The engine's seeded stream (src/core/random/rng.ts) as a plain function. */
export function seededRandom(seed: number): Random {
  const rng = new Rng(seed);
  return () => rng.uniform();
}

function uniform(random: Random, lo: number, hi: number): number {
  return lo + (hi - lo) * random();
}

function randomIndex(random: Random, n: number): number {
  return Math.min(n - 1, Math.floor(random() * n));
}

// ---------------------------------------------------------------------------------------------
// Scene sampling

type Rgb = readonly [number, number, number];

/**
 * Geometry in pixel units. A shape is either a disc or a union of convex polygons, each given as
 * half-planes (nx, ny, c) with unit normals: a point is inside a polygon when nx·x + ny·y ≤ c
 * for all of its planes.
 */
type ShapeGeometry =
  | { kind: 'disc'; cx: number; cy: number; radius: number }
  | { kind: 'polygons'; polygons: Float64Array[] };

interface Background {
  from: Rgb;
  to: Rgb;
  /** Gradient axis (unit vector) and the projection range it spans over the image. */
  dx: number;
  dy: number;
  start: number;
  length: number;
}

/** Inclusive pixel ranges outside which the shape has no coverage. */
interface PixelBox {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

interface Scene {
  attributes: ShapeAttributes;
  shape: ShapeGeometry;
  box: PixelBox;
  colour: Rgb;
  background: Background;
}

function sampleScene(random: Random, side: number): Scene {
  const shape = randomIndex(random, SHAPE_NAMES.length);
  const colour = randomIndex(random, COLOUR_NAMES.length);
  const size = randomIndex(random, SIZE_NAMES.length);

  const extent =
    side * (SIZE_EXTENTS[size] ?? 0.25) * uniform(random, 1 - SIZE_JITTER, 1 + SIZE_JITTER);
  // Keep the whole shape (bounded by a circle of this radius) inside the image, half a pixel in.
  const bound = extent * boundingFactor(shape);
  const reach = Math.min(bound, side / 2 - 0.5);
  const tx = random();
  const ty = random();
  const cx = reach + 0.5 + tx * (side - 1 - 2 * reach);
  const cy = reach + 0.5 + ty * (side - 1 - 2 * reach);
  const position = Math.min(2, Math.floor(ty * 3)) * 3 + Math.min(2, Math.floor(tx * 3));
  const angle = uniform(random, -MAX_ROTATION_RADIANS, MAX_ROTATION_RADIANS);

  const hue = (COLOUR_HUES[colour] ?? 0) + uniform(random, -HUE_JITTER_DEGREES, HUE_JITTER_DEGREES);
  const rgb = hsvToRgb(hue, uniform(random, 0.8, 1), uniform(random, 0.85, 1));

  return {
    attributes: { shape, colour, size, position },
    shape: shapeGeometry(shape, cx, cy, extent, angle),
    box: pixelBox(cx, cy, bound, side),
    colour: rgb,
    background: sampleBackground(random, rgb, side),
  };
}

function pixelBox(cx: number, cy: number, radius: number, side: number): PixelBox {
  const clamp = (v: number): number => Math.min(side - 1, Math.max(0, v));
  return {
    x0: clamp(Math.floor(cx - radius - 1)),
    x1: clamp(Math.ceil(cx + radius)),
    y0: clamp(Math.floor(cy - radius - 1)),
    y1: clamp(Math.ceil(cy + radius)),
  };
}

/** Radius of the circle around the centre that contains the shape, per unit of extent. */
function boundingFactor(shape: number): number {
  switch (shape) {
    case 1:
      return SQUARE_HALF_SIDE * Math.SQRT2;
    case 2:
      return TRIANGLE_CIRCUMRADIUS;
    case 3:
      return Math.hypot(1, CROSS_HALF_WIDTH);
    default:
      return 1;
  }
}

function shapeGeometry(
  shape: number,
  cx: number,
  cy: number,
  extent: number,
  angle: number,
): ShapeGeometry {
  const place = (points: readonly (readonly [number, number])[]): Float64Array =>
    convexPolygon(points.map(([x, y]) => rotateAbout(x * extent, y * extent, angle, cx, cy)));
  switch (shape) {
    case 1: {
      const h = SQUARE_HALF_SIDE;
      return { kind: 'polygons', polygons: [place(rectangle(h, h))] };
    }
    case 2: {
      const r = TRIANGLE_CIRCUMRADIUS;
      // Equilateral, pointing up, centred on its circumcentre.
      const vertices: [number, number][] = [0, 1, 2].map((k) => {
        const a = -Math.PI / 2 + (k * 2 * Math.PI) / 3;
        return [r * Math.cos(a), r * Math.sin(a)];
      });
      return { kind: 'polygons', polygons: [place(vertices)] };
    }
    case 3: {
      const w = CROSS_HALF_WIDTH;
      return { kind: 'polygons', polygons: [place(rectangle(1, w)), place(rectangle(w, 1))] };
    }
    default:
      return { kind: 'disc', cx, cy, radius: extent };
  }
}

function rectangle(halfWidth: number, halfHeight: number): [number, number][] {
  return [
    [-halfWidth, -halfHeight],
    [halfWidth, -halfHeight],
    [halfWidth, halfHeight],
    [-halfWidth, halfHeight],
  ];
}

function rotateAbout(
  x: number,
  y: number,
  angle: number,
  cx: number,
  cy: number,
): [number, number] {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  return [cx + x * cos - y * sin, cy + x * sin + y * cos];
}

/** Half-planes of a convex polygon whose vertices go clockwise on screen (y down). */
function convexPolygon(vertices: readonly [number, number][]): Float64Array {
  const planes = new Float64Array(vertices.length * 3);
  vertices.forEach(([x0, y0], i) => {
    const [x1, y1] = vertices[(i + 1) % vertices.length] ?? [x0, y0];
    const length = Math.hypot(x1 - x0, y1 - y0);
    // With y pointing down, clockwise order puts the interior to the right of each edge, so
    // (dy, -dx) points outwards.
    const nx = (y1 - y0) / length;
    const ny = -(x1 - x0) / length;
    planes[i * 3] = nx;
    planes[i * 3 + 1] = ny;
    planes[i * 3 + 2] = nx * x0 + ny * y0;
  });
  return planes;
}

/**
 * Solid backgrounds of any lightness with low saturation, or a linear gradient between two such
 * colours; redrawn until every background colour is far enough from the shape colour.
 */
function sampleBackground(random: Random, shape: Rgb, side: number): Background {
  const gradient = random() < GRADIENT_PROBABILITY;
  for (let attempt = 0; attempt < 32; attempt++) {
    const from = mutedColour(random);
    const to = gradient ? mutedColour(random) : from;
    if (distance(from, shape) < MIN_CONTRAST || distance(to, shape) < MIN_CONTRAST) continue;
    const angle = random() * 2 * Math.PI;
    const dx = Math.cos(angle);
    const dy = Math.sin(angle);
    // Project the image corners on the axis so the gradient spans exactly the image.
    const corners = [0, side * dx, side * dy, side * (dx + dy)];
    const start = Math.min(...corners);
    return { from, to, dx, dy, start, length: Math.max(...corners) - start };
  }
  const fallback: Rgb =
    distance([0, 0, 0], shape) > distance([1, 1, 1], shape) ? [0, 0, 0] : [1, 1, 1];
  return { from: fallback, to: fallback, dx: 1, dy: 0, start: 0, length: side };
}

function mutedColour(random: Random): Rgb {
  return hsvToRgb(random() * 360, uniform(random, 0, 0.35), uniform(random, 0.04, 0.96));
}

function distance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

function hsvToRgb(hueDegrees: number, saturation: number, value: number): Rgb {
  const h = (((hueDegrees % 360) + 360) % 360) / 60;
  const channel = (n: number): number => {
    const k = (n + h) % 6;
    return value - value * saturation * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [channel(5), channel(3), channel(1)];
}

// ---------------------------------------------------------------------------------------------
// Rasterisation

/**
 * A lower bound on the distance from (x, y) to the shape's boundary, signed (negative inside).
 * For a convex polygon the largest half-plane distance is exact inside and a lower bound
 * outside; the union takes the minimum. That is all the anti-aliasing shortcut needs.
 */
function signedDistance(shape: ShapeGeometry, x: number, y: number): number {
  if (shape.kind === 'disc') return Math.hypot(x - shape.cx, y - shape.cy) - shape.radius;
  let best = Infinity;
  for (const planes of shape.polygons) {
    let worst = -Infinity;
    for (let p = 0; p < planes.length; p += 3) {
      const d = (planes[p] ?? 0) * x + (planes[p + 1] ?? 0) * y - (planes[p + 2] ?? 0);
      if (d > worst) worst = d;
    }
    if (worst < best) best = worst;
  }
  return best;
}

/**
 * Fills `coverage` with the fraction of each pixel inside the shape. Only pixels in the shape's
 * box are tested and only those near the edge are supersampled, which keeps 10k 32×32 images
 * well under a second.
 */
function rasterise(
  shape: ShapeGeometry,
  box: PixelBox,
  side: number,
  coverage: Float32Array,
): void {
  const step = 1 / SUPERSAMPLE;
  const samples = SUPERSAMPLE * SUPERSAMPLE;
  coverage.fill(0);
  for (let y = box.y0; y <= box.y1; y++) {
    for (let x = box.x0; x <= box.x1; x++) {
      const d = signedDistance(shape, x + 0.5, y + 0.5);
      let value: number;
      if (d <= -PIXEL_RADIUS) value = 1;
      else if (d >= PIXEL_RADIUS) value = 0;
      else {
        let inside = 0;
        for (let sy = 0; sy < SUPERSAMPLE; sy++) {
          for (let sx = 0; sx < SUPERSAMPLE; sx++) {
            if (signedDistance(shape, x + (sx + 0.5) * step, y + (sy + 0.5) * step) < 0) inside++;
          }
        }
        value = inside / samples;
      }
      coverage[y * side + x] = value;
    }
  }
}

/** Composites the shape colour over the background and writes [-1, 1] RGB at `offset`. */
function paint(
  scene: Scene,
  coverage: Float32Array,
  side: number,
  out: Float32Array,
  offset: number,
): void {
  const { background: bg, colour } = scene;
  const [fr, fg, fb] = colour;
  const [r0, g0, b0] = bg.from;
  const [r1, g1, b1] = bg.to;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const t = ((x + 0.5) * bg.dx + (y + 0.5) * bg.dy - bg.start) / bg.length;
      const alpha = coverage[y * side + x] ?? 0;
      const o = offset + (y * side + x) * 3;
      out[o] = blend(r0 + (r1 - r0) * t, fr, alpha);
      out[o + 1] = blend(g0 + (g1 - g0) * t, fg, alpha);
      out[o + 2] = blend(b0 + (b1 - b0) * t, fb, alpha);
    }
  }
}

/** Shape over background by coverage, mapped from 0..1 to the models' -1..1. */
function blend(back: number, front: number, alpha: number): number {
  return (back + (front - back) * alpha) * 2 - 1;
}

/**
 * The shapes' attributes as tags — its shape, colour, size and position bucket — so tag
 * conditioning runs offline on data whose true attributes are known. The names are distinct
 * across the four groups, so a tag names its attribute.
 */
export function shapesTagConditions(data: ShapesDatasetWithAttributes): ImageConditions {
  const names = data.attributeNames;
  const tagNames = [...names.shape, ...names.colour, ...names.size, ...names.position].sort();
  const column = new Map(tagNames.map((t, i) => [t, i]));
  const tags = new Uint8Array(data.attributes.length * tagNames.length);
  data.attributes.forEach((a, i) => {
    for (const name of [
      names.shape[a.shape],
      names.colour[a.colour],
      names.size[a.size],
      names.position[a.position],
    ]) {
      tags[i * tagNames.length + (column.get(name ?? '') ?? 0)] = 1;
    }
  });
  return { tagNames, tags, vectorDim: 0, vectors: new Float32Array(0), missing: [], unmatched: [] };
}
