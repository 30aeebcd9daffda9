import { writeFileSync } from 'node:fs';

/**
 * A tiny Whisper model in whisper.cpp's ggml file format, with random weights: the real header, mel
 * filters, vocabulary and every tensor the loader expects, at a small width. Enough to prove that the
 * engine loads a model by path, runs whisper.cpp on our audio and parses its output; the text is noise.
 */
export function writeTinyWhisperModel(path: string, opts: { state?: number; heads?: number; layers?: number; seed?: number } = {}): void {
  const state = opts.state ?? 64;
  const heads = opts.heads ?? 2;
  const layers = opts.layers ?? 4;
  const nVocab = 51865; // multilingual
  const audioCtx = 1500;
  const textCtx = 448;
  const mels = 80;
  let seed = opts.seed ?? 1;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const parts: Buffer[] = [];
  const i32 = (...v: number[]) => {
    const b = Buffer.alloc(4 * v.length);
    v.forEach((x, k) => b.writeInt32LE(x, 4 * k));
    parts.push(b);
  };
  const f32 = (n: number, fill: (k: number) => number) => {
    const b = Buffer.alloc(4 * n);
    for (let k = 0; k < n; k++) b.writeFloatLE(fill(k), 4 * k);
    parts.push(b);
  };
  i32(0x67676d6c); // "ggml"
  i32(nVocab, audioCtx, state, heads, layers, textCtx, state, heads, layers, mels, 1 /* f16 weights, as the published models */);
  i32(mels, 201);
  f32(mels * 201, () => rand() * 0.01);
  const words = 50257;
  i32(words);
  for (let k = 0; k < words; k++) {
    // whisper.cpp looks up " ", " -" and " '" by text while decoding.
    const w = Buffer.from(k < 3 ? [' ', ' -', " '"][k] : ` w${k}`, 'utf8');
    i32(w.length);
    parts.push(w);
  }
  const f16 = (n: number, fill: (k: number) => number) => {
    const b = Buffer.alloc(2 * n);
    for (let k = 0; k < n; k++) b.writeUInt16LE(toHalf(fill(k)), 2 * k);
    parts.push(b);
  };
  // Matrices and convolution kernels are f16 (whisper.cpp's im2col needs f16 kernels); vectors f32.
  const tensor = (name: string, ne: number[], fill: (k: number) => number = () => (rand() - 0.5) * 0.04, half = false) => {
    const nameBuf = Buffer.from(name, 'utf8');
    i32(ne.length, nameBuf.length, half ? 1 : 0, ...ne);
    parts.push(nameBuf);
    (half ? f16 : f32)(ne.reduce((a, b) => a * b, 1), fill);
  };
  const ln = (prefix: string) => {
    tensor(`${prefix}.weight`, [state], () => 1);
    tensor(`${prefix}.bias`, [state], () => 0);
  };
  const linear = (prefix: string, inDim: number, outDim: number, bias = true) => {
    tensor(`${prefix}.weight`, [inDim, outDim], undefined, true);
    if (bias) tensor(`${prefix}.bias`, [outDim], () => 0);
  };
  /** A transformer block: the MLP, then each attention (the key has no bias), in the loader's order. */
  const block = (p: string, attentions: string[]) => {
    ln(`${p}.mlp_ln`);
    linear(`${p}.mlp.0`, state, 4 * state);
    linear(`${p}.mlp.2`, 4 * state, state);
    for (const a of attentions) {
      ln(`${p}.${a}_ln`);
      linear(`${p}.${a}.query`, state, state);
      linear(`${p}.${a}.key`, state, state, false);
      linear(`${p}.${a}.value`, state, state);
      linear(`${p}.${a}.out`, state, state);
    }
  };
  tensor('encoder.positional_embedding', [state, audioCtx]);
  tensor('encoder.conv1.weight', [3, mels, state], undefined, true);
  tensor('encoder.conv1.bias', [1, state], () => 0);
  tensor('encoder.conv2.weight', [3, state, state], undefined, true);
  tensor('encoder.conv2.bias', [1, state], () => 0);
  ln('encoder.ln_post');
  for (let l = 0; l < layers; l++) block(`encoder.blocks.${l}`, ['attn']);
  tensor('decoder.positional_embedding', [state, textCtx]);
  tensor('decoder.token_embedding.weight', [state, nVocab], undefined, true);
  ln('decoder.ln');
  for (let l = 0; l < layers; l++) block(`decoder.blocks.${l}`, ['attn', 'cross_attn']);
  writeFileSync(path, Buffer.concat(parts));
}

/** IEEE 754 half precision (round to nearest), for small weights. */
function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    const m = (mant | 0x800000) >> (1 - exp);
    return sign | ((m + 0x1000) >> 13);
  }
  if (exp >= 31) return sign | 0x7c00;
  return (sign | (exp << 10) | (mant >> 13)) + ((mant >> 12) & 1);
}
