/**
 * Audio for transcription, in plain TypeScript (no sox/ffmpeg on the installer's server): read the WAV
 * files FreeSWITCH records (PCM 8/16/24/32-bit, float, G.711 µ-law/A-law; mono or stereo), split the
 * channels (stereo recordings put one party on each), resample telephone audio (8 kHz) to the 16 kHz
 * Whisper wants, and write 16-bit mono WAV for whisper.cpp.
 */

export class AudioFormatError extends Error {}

export interface Pcm {
  sampleRate: number;
  /** One Float32Array per channel, samples in [-1, 1]. */
  channels: Float32Array[];
}

export function durationSeconds(pcm: Pcm): number {
  return pcm.channels[0] ? pcm.channels[0].length / pcm.sampleRate : 0;
}

interface WavFormat {
  format: number;
  channels: number;
  rate: number;
  bits: number;
  align: number;
}

/** Chunks that may follow the data chunk (metadata): a zero data size followed by one of them is really empty. */
const KNOWN_CHUNKS = new Set(['LIST', 'INFO', 'id3 ', 'ID3 ', 'fact', 'cue ', 'bext', 'JUNK', 'junk', 'PAD ', 'FLLR', 'smpl', 'inst', 'PEAK', 'iXML', 'axml', '_PMX', 'acid', 'plst', 'labl', 'note', 'ltxt', 'DISP', 'umid', 'minf', 'elm1', 'regn', 'cart', 'fmt ', 'data']);

function isChunkAt(buf: Buffer, at: number): boolean {
  return at + 8 <= buf.length && KNOWN_CHUNKS.has(buf.toString('ascii', at, at + 4));
}

/** Where a WAV file's samples are: its format and the bytes of whole frames actually in the file. */
export interface WavLayout {
  format: WavFormat;
  data: Buffer;
  /** Whole frames in `data` (what decoding yields). */
  frames: number;
  /** The header's sizes were not to be trusted (unfinalised or cut short): the file's real size was used. */
  repaired: boolean;
}

/**
 * Finds the format and the sample bytes of a RIFF/WAVE (or RF64) file without decoding them. The file's real
 * size wins over its header: a recorder killed before it closed the file leaves RIFF and data sizes of 0
 * (or 0xFFFFFFFF, the streaming convention), and one cut short claims more than is there — in both cases
 * the data runs to the end of the file, cut to whole frames. The data chunk need not be the last (LIST
 * after data), odd-sized chunks carry a pad byte, and WAVE_FORMAT_EXTENSIBLE is read by its sub-format.
 */
export function wavLayout(buf: Buffer): WavLayout {
  const magic = buf.length >= 12 ? buf.toString('ascii', 0, 4) : '';
  if ((magic !== 'RIFF' && magic !== 'RF64') || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new AudioFormatError(buf.length === 0 ? 'the file is empty (0 bytes)' : 'not a RIFF/WAVE file');
  }
  let fmt: WavFormat | null = null;
  let data: { start: number; end: number; repaired: boolean } | null = null;
  let ds64Data: number | null = null; // RF64: the data size lives in the ds64 chunk
  const riffSize = buf.readUInt32LE(4);
  const riffStale = magic === 'RIFF' && (riffSize === 0 || riffSize === 0xffffffff || riffSize + 8 < buf.length);
  let pos = 12;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('ascii', pos, pos + 4);
    const size = buf.readUInt32LE(pos + 4);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw new AudioFormatError('fmt chunk too short');
      let format = buf.readUInt16LE(body);
      // WAVE_FORMAT_EXTENSIBLE: the real encoding is the first two bytes of the sub-format GUID.
      if (format === 0xfffe && size >= 40 && body + 26 <= buf.length) format = buf.readUInt16LE(body + 24);
      fmt = { format, channels: buf.readUInt16LE(body + 2), rate: buf.readUInt32LE(body + 4), align: buf.readUInt16LE(body + 12), bits: buf.readUInt16LE(body + 14) };
    } else if (id === 'ds64' && size >= 24 && body + 24 <= buf.length) {
      ds64Data = buf.readUInt32LE(body + 16) + buf.readUInt32LE(body + 20) * 2 ** 32;
    } else if (id === 'data' && !data) {
      const rest = buf.length - body;
      const length = size === 0xffffffff && ds64Data !== null ? ds64Data : size;
      const next = body + length + (length % 2);
      // The header is stale when the recorder never came back to finalise it: sizes of 0 or 0xFFFFFFFF,
      // a size past the end of the file, or (RIFF size short of the file) audio behind the claimed end
      // where a chunk header should be. Then the data runs to the end of the file.
      const stale = length === 0xffffffff || length > rest
        || (riffStale && next + 8 <= buf.length && !isChunkAt(buf, next))
        || (length === 0 && rest > 0 && !(rest >= 8 && isChunkAt(buf, body)));
      data = { start: body, end: stale ? buf.length : body + length, repaired: stale };
      if (stale) break;
    }
    if (size === 0xffffffff) break; // an unsized non-data chunk: nothing after it can be found
    pos = body + size + (size % 2);
  }
  if (!fmt) throw new AudioFormatError(data ? 'no fmt chunk before the end of the file' : 'no fmt chunk');
  if (!data) throw new AudioFormatError('no data chunk');
  checkFormat(fmt);
  const align = fmt.align || (fmt.bits / 8) * fmt.channels;
  const frames = Math.floor((data.end - data.start) / align);
  return { format: fmt, data: buf.subarray(data.start, data.start + frames * align), frames, repaired: data.repaired };
}

/** Frames and seconds of audio a WAV file really holds (the same count decoding yields). */
export function wavDuration(buf: Buffer): { frames: number; sampleRate: number; channels: number; seconds: number } {
  const l = wavLayout(buf);
  return { frames: l.frames, sampleRate: l.format.rate, channels: l.format.channels, seconds: l.frames / l.format.rate };
}

export function parseWav(buf: Buffer): Pcm {
  const l = wavLayout(buf);
  return decode(l.data, l.format);
}

function checkFormat(f: WavFormat): void {
  if (f.channels < 1 || f.channels > 8) throw new AudioFormatError(`unsupported channel count ${f.channels}`);
  if (f.rate < 1000 || f.rate > 192000) throw new AudioFormatError(`unsupported sample rate ${f.rate}`);
  const bytes = f.bits / 8;
  const align = f.align || bytes * f.channels;
  if (!Number.isInteger(bytes) || bytes < 1 || align < bytes * f.channels) throw new AudioFormatError(`unsupported sample size ${f.bits} bits`);
  reader(f.format, f.bits);
}

function decode(data: Buffer, f: WavFormat): Pcm {
  const bytes = f.bits / 8;
  const align = f.align || bytes * f.channels;
  const frames = Math.floor(data.length / align);
  const read = reader(f.format, f.bits);
  const channels = Array.from({ length: f.channels }, () => new Float32Array(frames));
  for (let i = 0; i < frames; i++) {
    const at = i * align;
    for (let c = 0; c < f.channels; c++) channels[c][i] = read(data, at + c * bytes);
  }
  return { sampleRate: f.rate, channels };
}

function reader(format: number, bits: number): (b: Buffer, at: number) => number {
  if (format === 1) {
    if (bits === 16) return (b, at) => b.readInt16LE(at) / 32768;
    if (bits === 8) return (b, at) => (b[at] - 128) / 128;
    if (bits === 24) return (b, at) => b.readIntLE(at, 3) / 8388608;
    if (bits === 32) return (b, at) => b.readInt32LE(at) / 2147483648;
  }
  if (format === 3 && bits === 32) return (b, at) => b.readFloatLE(at);
  if (format === 3 && bits === 64) return (b, at) => b.readDoubleLE(at);
  if (format === 7 && bits === 8) return (b, at) => MULAW[b[at]];
  if (format === 6 && bits === 8) return (b, at) => ALAW[b[at]];
  throw new AudioFormatError(`unsupported WAV encoding ${format} with ${bits} bits`);
}

/** G.711 µ-law → linear (ITU-T G.711). */
const MULAW = Float32Array.from({ length: 256 }, (_, i) => {
  const u = ~i & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return (u & 0x80 ? 0x84 - t : t - 0x84) / 32768;
});

/** G.711 A-law → linear (ITU-T G.711). */
const ALAW = Float32Array.from({ length: 256 }, (_, i) => {
  const a = i ^ 0x55;
  const seg = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  t = seg === 0 ? t + 8 : seg === 1 ? t + 0x108 : (t + 0x108) << (seg - 1);
  return (a & 0x80 ? t : -t) / 32768;
});

/**
 * Band-limited resampling (windowed sinc, Blackman window, 32 zero crossings): 8 kHz → 16 kHz keeps the
 * telephone band clean with no image above 4 kHz, which Whisper would hear as hiss.
 */
export function resample(input: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return input.slice();
  // Polyphase: output i sits at input position i·M/L; its fraction takes only L values, so each phase's
  // kernel is computed once and the work per output sample is one dot product.
  const g = gcd(from, to);
  const L = to / g;
  const M = from / g;
  const cutoff = Math.min(1, to / from); // of the input's Nyquist frequency
  const half = 32;
  const width = Math.ceil(half / cutoff);
  const taps = 2 * width;
  const kernels = Array.from({ length: L }, (_, phase) => {
    const frac = phase / L;
    const k = new Float32Array(taps);
    let norm = 0;
    for (let j = 0; j < taps; j++) {
      k[j] = windowedSinc((frac - (j - width + 1)) * cutoff, half);
      norm += k[j];
    }
    for (let j = 0; j < taps; j++) k[j] /= norm;
    return k;
  });
  const out = new Float32Array(Math.round((input.length * L) / M));
  for (let i = 0; i < out.length; i++) {
    const pos = i * M;
    const center = Math.floor(pos / L);
    const kernel = kernels[pos % L];
    const first = center - width + 1;
    let acc = 0;
    if (first >= 0 && first + taps <= input.length) {
      for (let j = 0; j < taps; j++) acc += input[first + j] * kernel[j];
    } else {
      for (let j = 0; j < taps; j++) {
        const k = first + j;
        if (k >= 0 && k < input.length) acc += input[k] * kernel[j];
      }
    }
    out[i] = acc;
  }
  return out;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function windowedSinc(x: number, half: number): number {
  if (x === 0) return 1;
  if (Math.abs(x) >= half) return 0;
  const px = Math.PI * x;
  const n = (x + half) / (2 * half);
  const blackman = 0.42 - 0.5 * Math.cos(2 * Math.PI * n) + 0.08 * Math.cos(4 * Math.PI * n);
  return (Math.sin(px) / px) * blackman;
}

/** The 44-byte header of a 16-bit PCM WAV file. */
export function wavHeader(channels: number, sampleRate: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/** 16-bit PCM mono WAV, as whisper.cpp reads it. */
export function encodeWav16(samples: Float32Array, sampleRate: number): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]));
    data.writeInt16LE(Math.round(v < 0 ? v * 32768 : v * 32767), i * 2);
  }
  return Buffer.concat([wavHeader(1, sampleRate, data.length), data]);
}

/** A channel of a recording as Whisper's input: 16 kHz, 16-bit mono WAV. */
export function whisperInput(pcm: Pcm, channel: number): Buffer {
  const ch = pcm.channels[channel];
  if (!ch) throw new AudioFormatError(`the recording has no channel ${channel}`);
  return encodeWav16(resample(ch, pcm.sampleRate, 16000), 16000);
}
