/**
 * The gear-hash scan of the chunker (chunker.ts) as a WebAssembly function —
 * about twice as fast as the same loop in JavaScript, and free of typed-array
 * bounds checks. The module is tiny, so it is written here instruction by
 * instruction and assembled at load time: no compiler or committed binary is
 * needed, and this file is the whole source.
 *
 * Exported function `cut(from, normalEnd, limitEnd, maskS, maskL) → i32`
 * (all i32; addresses into the imported memory `env.mem`):
 *
 *   h = 0; i = from
 *   while i < normalEnd: h = (h << 1) + gear[mem[i]]; if (h & maskS) == 0 return i + 1; i++
 *   while i < limitEnd:  h = (h << 1) + gear[mem[i]]; if (h & maskL) == 0 return i + 1; i++
 *   return 0   (no cut point)
 *
 * where `gear` is 256 little-endian i32 words at address 0. Each loop handles
 * two bytes per iteration — h after two bytes is (h << 2) + ((g0 << 1) + g1),
 * so the serial dependency on h is one shift and one add per two bytes — and
 * a last single byte. Arithmetic wraps at 32 bits exactly like `| 0` in
 * JavaScript, so cut points are identical to `cutReference` in chunker.ts.
 *
 * @module
 */

const I32 = 0x7f;
const op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  get: 0x20,
  set: 0x21,
  tee: 0x22,
  load: 0x28,
  load8u: 0x2d,
  const: 0x41,
  eqz: 0x45,
  ltU: 0x49,
  geU: 0x4f,
  add: 0x6a,
  and: 0x71,
  shl: 0x74,
  void: 0x40,
} as const;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

// Locals: parameters 0 from, 1 normalEnd, 2 limitEnd, 3 maskS, 4 maskL; then 5 h, 6 i, 7 g0, 8 h0.
const H = 5;
const I = 6;
const G0 = 7;
const H0 = 8;
const get = (l: number) => [op.get, l];
const set = (l: number) => [op.set, l];
const k = (n: number) => [op.const, ...sleb(n)];
/** gear[mem[i + offset]] */
const gearAt = (offset: number) => [...get(I), op.load8u, 0, offset, ...k(2), op.shl, op.load, 2, 0];
/** if ((value & mask) == 0) return i + step */
const cutIf = (value: number[], mask: number, step: number) => [
  ...value,
  ...get(mask),
  op.and,
  op.eqz,
  op.if,
  op.void,
  ...get(I),
  ...k(step),
  op.add,
  op.return,
  op.end,
];

/** Scan [i, end) with `mask`, two bytes per iteration, then the last odd byte. */
function scan(end: number, mask: number): number[] {
  return [
    op.block,
    op.void,
    op.loop,
    op.void,
    // while (i + 1 < end)
    ...get(I),
    ...k(1),
    op.add,
    ...get(end),
    op.geU,
    op.brIf,
    1,
    ...gearAt(0),
    ...set(G0),
    // h0 = (h << 1) + g0
    ...get(H),
    ...k(1),
    op.shl,
    ...get(G0),
    op.add,
    ...set(H0),
    // h = (h << 2) + ((g0 << 1) + gear[mem[i + 1]])
    ...get(H),
    ...k(2),
    op.shl,
    ...get(G0),
    ...k(1),
    op.shl,
    ...gearAt(1),
    op.add,
    op.add,
    ...set(H),
    ...cutIf(get(H0), mask, 1),
    ...cutIf(get(H), mask, 2),
    ...get(I),
    ...k(2),
    op.add,
    ...set(I),
    op.br,
    0,
    op.end,
    op.end,
    // if (i < end): one more byte
    ...get(I),
    ...get(end),
    op.ltU,
    op.if,
    op.void,
    ...get(H),
    ...k(1),
    op.shl,
    ...gearAt(0),
    op.add,
    ...set(H),
    ...cutIf(get(H), mask, 1),
    ...get(I),
    ...k(1),
    op.add,
    ...set(I),
    op.end,
  ];
}

function assemble(): Uint8Array {
  const body = [1, 4, I32, ...get(0), ...set(I), ...scan(1, 3), ...scan(2, 4), ...k(0), op.end];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [1, 0x60, 5, I32, I32, I32, I32, I32, 1, I32]), // type: (i32 × 5) → i32
    ...section(2, [1, ...name('env'), ...name('mem'), 0x02, 0x00, 1]), // import memory env.mem, min 1 page
    ...section(3, [1, 0]), // one function of type 0
    ...section(7, [1, ...name('cut'), 0x00, 0]), // export it as "cut"
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

/** The part of the WebAssembly API used here (the compiler's lib has no DOM/WebAssembly types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | undefined;

/** Bytes of memory before the data: the gear table. */
export const GEAR_BYTES = 1024;

type CutFn = (from: number, normalEnd: number, limitEnd: number, maskS: number, maskL: number) => number;

/** One instance of the scan with its own memory: the gear table, then `dataBytes` of data. */
export class GearKernel {
  readonly memory: WasmMemory;
  readonly cut: CutFn;

  constructor(gear: Int32Array, dataBytes: number) {
    compiled ??= new wasm.Module(assemble());
    this.memory = new wasm.Memory({ initial: Math.ceil((GEAR_BYTES + dataBytes) / 65536) || 1 });
    const instance = new wasm.Instance(compiled, { env: { mem: this.memory } });
    this.cut = instance.exports.cut as CutFn;
    const view = new DataView(this.memory.buffer);
    for (let i = 0; i < 256; i++) view.setInt32(i * 4, gear[i]!, true);
  }

  /** The data area (`dataBytes` long, from address GEAR_BYTES). */
  data(dataBytes: number): Buffer {
    return Buffer.from(this.memory.buffer, GEAR_BYTES, dataBytes);
  }
}
