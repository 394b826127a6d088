/**
 * A WebAssembly module assembled here, byte by byte, specialised for one padded row width: no toolchain, no binary
 * to download, about 300 bytes. Two functions over an imported memory:
 *
 * - `score(n, q, scales, u, out, uScale)`: for n rows (a multiple of 4) of `width` int8 values at q (rows padded to
 *   a multiple of 16 bytes), out[r] = (Σ_c q[r,c] · u[c]) · scales[r] · uScale, where u holds `width` int16 values.
 *   The products are summed exactly in int32 lanes by i32x4.dot_i16x8_s, eight per instruction; u stays in locals;
 *   four rows' sums are reduced, converted and scaled together.
 * - `sum(p, bytes)`: the int32 lane sum of `bytes` (a multiple of 64) bytes at p: the cheapest full read of a
 *   matrix, the benchmark's floor.
 */

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (for i32.const). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

// Instructions.
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32Const = (n: number) => [0x41, ...sleb(n)];
const I32_ADD = [0x6a];
const I32_SUB = [0x6b];
const I32_EQZ = [0x45];
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const brIf = (depth: number) => [0x0d, ...uleb(depth)];
const END = [0x0b];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const v128Load = (offset: number) => simd(0x00, 0, ...uleb(offset)); // align hint 1: rows need not be 16-aligned
const I16X8_EXTEND_LOW_I8X16_S = simd(0x87);
const I16X8_EXTEND_HIGH_I8X16_S = simd(0x88);
const I32X4_DOT_I16X8_S = simd(0xba);
const I32X4_ADD = simd(0xae);
const I32X4_ZERO = [...i32Const(0), ...simd(0x11)]; // i32x4.splat
const extractLane = (lane: number) => simd(0x1b, lane);
const shuffle = (bytes: number[]) => simd(0x0d, ...bytes);
const v128Store = (offset: number) => simd(0x0b, 0, ...uleb(offset));
const F32X4_SPLAT = simd(0x13);
const F32X4_MUL = simd(0xe6);
const F32X4_CONVERT_I32X4_S = simd(0xfa);
const I32_GT_S = [0x4a];

/** i32 sum of the four lanes of the v128 in local `v`. */
const horizontalSum = (v: number): number[] => [
  ...get(v), ...extractLane(0),
  ...get(v), ...extractLane(1), ...I32_ADD,
  ...get(v), ...extractLane(2), ...I32_ADD,
  ...get(v), ...extractLane(3), ...I32_ADD,
];

/** Rows per loop iteration: four row sums are reduced together, converted and scaled as one f32x4. */
export const ROWS_PER_STEP = 4;

function scoreFunction(width: number): number[] {
  const chunks = width / 16;
  // Params: 0 n, 1 q, 2 scales, 3 u, 4 out, 5 uScale. Locals: 6 row, 7 uScale×4, 8–11 acc, 12… u vectors.
  const [N, Q, SCALES, U, OUT, U_SCALE, ROW, U_SCALE4, ACC, U0] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12];
  const body: number[] = [];
  for (let j = 0; j < 2 * chunks; j++) body.push(...get(U), ...v128Load(16 * j), ...set(U0 + j));
  body.push(...get(U_SCALE), ...F32X4_SPLAT, ...set(U_SCALE4));
  body.push(...BLOCK, ...get(N), ...I32_EQZ, ...brIf(0), ...LOOP);
  for (let r = 0; r < ROWS_PER_STEP; r++) {
    for (let c = 0; c < chunks; c++) {
      body.push(...get(Q), ...v128Load(r * width + 16 * c), ...set(ROW));
      body.push(...get(ROW), ...I16X8_EXTEND_LOW_I8X16_S, ...get(U0 + 2 * c), ...I32X4_DOT_I16X8_S);
      if (c > 0) body.push(...get(ACC + r), ...I32X4_ADD);
      body.push(...get(ROW), ...I16X8_EXTEND_HIGH_I8X16_S, ...get(U0 + 2 * c + 1), ...I32X4_DOT_I16X8_S, ...I32X4_ADD);
      body.push(...set(ACC + r));
    }
  }
  // Four lane sums at once: [a, b, c, d] = pairwise shuffles and adds of the four accumulators.
  const pair = (x: number, y: number) => [...get(x), ...get(y), ...shuffle(LOW_HALVES), ...get(x), ...get(y), ...shuffle(HIGH_HALVES), ...I32X4_ADD];
  body.push(...get(OUT));
  body.push(...pair(ACC, ACC + 1), ...set(ACC), ...pair(ACC + 2, ACC + 3), ...set(ACC + 2));
  body.push(...get(ACC), ...get(ACC + 2), ...shuffle(EVEN_LANES), ...get(ACC), ...get(ACC + 2), ...shuffle(ODD_LANES), ...I32X4_ADD);
  body.push(...F32X4_CONVERT_I32X4_S, ...get(SCALES), ...v128Load(0), ...F32X4_MUL, ...get(U_SCALE4), ...F32X4_MUL, ...v128Store(0));
  body.push(...get(Q), ...i32Const(ROWS_PER_STEP * width), ...I32_ADD, ...set(Q));
  body.push(...get(SCALES), ...i32Const(4 * ROWS_PER_STEP), ...I32_ADD, ...set(SCALES));
  body.push(...get(OUT), ...i32Const(4 * ROWS_PER_STEP), ...I32_ADD, ...set(OUT));
  body.push(...get(N), ...i32Const(ROWS_PER_STEP), ...I32_SUB, ...tee(N), ...i32Const(0), ...I32_GT_S, ...brIf(0)); // loop while rows remain
  body.push(...END, ...END, ...END);
  const locals = vec([[...uleb(6 + 2 * chunks), V128]]);
  return [...locals, ...body];
}

const lanes = (...ids: number[]): number[] => ids.flatMap((lane) => [4 * lane, 4 * lane + 1, 4 * lane + 2, 4 * lane + 3]);
/** i32 lanes of two vectors x (0–3) and y (4–7). */
const LOW_HALVES = lanes(0, 1, 4, 5);
const HIGH_HALVES = lanes(2, 3, 6, 7);
const EVEN_LANES = lanes(0, 2, 4, 6);
const ODD_LANES = lanes(1, 3, 5, 7);

function sumFunction(): number[] {
  // Params: 0 p, 1 bytes. Locals: 2–5 four accumulators.
  const [P, BYTES, A] = [0, 1, 2];
  const body: number[] = [];
  body.push(...BLOCK, ...get(BYTES), ...I32_EQZ, ...brIf(0), ...LOOP);
  for (let j = 0; j < 4; j++) body.push(...get(A + j), ...get(P), ...v128Load(16 * j), ...I32X4_ADD, ...set(A + j));
  body.push(...get(P), ...i32Const(64), ...I32_ADD, ...set(P));
  body.push(...get(BYTES), ...i32Const(64), ...I32_SUB, ...tee(BYTES), ...brIf(0));
  body.push(...END, ...END);
  body.push(...get(A), ...get(A + 1), ...I32X4_ADD, ...get(A + 2), ...I32X4_ADD, ...get(A + 3), ...I32X4_ADD, ...set(A));
  body.push(...horizontalSum(A), ...END);
  return [...vec([[4, V128]]), ...body];
}

/** The module's bytes for rows of `width` int8 values (a positive multiple of 16). */
export function scoreModuleBytes(width: number): Uint8Array<ArrayBuffer> {
  if (!(width > 0 && width % 16 === 0)) throw new RangeError(`row width must be a positive multiple of 16, got ${width}`);
  const types = section(1, vec([
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [F32]]), ...vec([])],
    [0x60, ...vec([[I32], [I32]]), ...vec([[I32]])],
  ]));
  const imports = section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]]));
  const functions = section(3, vec([uleb(0), uleb(1)]));
  const exports = section(7, vec([
    [...name('score'), 0x00, ...uleb(0)],
    [...name('sum'), 0x00, ...uleb(1)],
  ]));
  const code = section(10, vec([scoreFunction(width), sumFunction()].map((f) => [...uleb(f.length), ...f])));
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...functions, ...exports, ...code]);
}

export interface ScoreModule {
  memory: WebAssembly.Memory;
  score(n: number, q: number, scales: number, u: number, out: number, uScale: number): void;
  sum(p: number, bytes: number): number;
}

const compiled = new Map<number, Promise<WebAssembly.Module>>();

/**
 * The module for rows of `width` int8 values, compiled once per worker. Called early (as soon as the manifest gives
 * the dimension), so that compilation overlaps the bundle's loading. Rejects when WebAssembly SIMD is not supported.
 */
export function compileScoreModule(width: number): Promise<WebAssembly.Module> {
  let module = compiled.get(width);
  if (!module) {
    module = (async () => {
      if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly is not available');
      const code = scoreModuleBytes(width);
      if (!WebAssembly.validate(code)) throw new Error('this browser does not support WebAssembly SIMD');
      return WebAssembly.compile(code);
    })();
    module.catch(() => compiled.delete(width)); // a failure is not kept: the next call tries again
    compiled.set(width, module);
  }
  return module;
}

/** Instantiates the module over a memory of at least `bytes`; throws when WebAssembly SIMD is not supported. */
export async function instantiateScoreModule(width: number, bytes: number): Promise<ScoreModule> {
  const module = await compileScoreModule(width);
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const exports = instance.exports as unknown as Omit<ScoreModule, 'memory'>;
  return { memory, score: exports.score, sum: exports.sum };
}
