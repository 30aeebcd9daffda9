/**
 * The audio path in front of Whisper, on the real stereo recording from the FreeSWITCH capture: channel
 * split, 8 → 16 kHz resampling that keeps the signal, G.711 decoding, and the merge of two speakers'
 * segments into one dialogue.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AudioFormatError, durationSeconds, encodeWav16, parseWav, resample, wavDuration, wavLayout, whisperInput } from '../src/transcription/audio';
import { dialogueText, mergeDialogue, Speaker } from '../src/transcription/dialogue';

const WAV = readFileSync(join(__dirname, '..', 'fixtures', 'freeswitch', '07_stereo.wav'));

function wavWith(format: number, bits: number, channels: number, rate: number, data: Buffer): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(format, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE((rate * channels * bits) / 8, 28);
  h.writeUInt16LE((channels * bits) / 8, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

describe('audio for Whisper', () => {
  test('the captured stereo recording: 2 channels, 8 kHz, 3.0 s; each channel becomes 16 kHz mono WAV', () => {
    const pcm = parseWav(WAV);
    expect(pcm.sampleRate).toBe(8000);
    expect(pcm.channels).toHaveLength(2);
    expect(durationSeconds(pcm)).toBeCloseTo(3.0, 3);
    for (const c of [0, 1]) {
      const out = parseWav(whisperInput(pcm, c));
      expect(out.sampleRate).toBe(16000);
      expect(out.channels).toHaveLength(1);
      expect(out.channels[0].length).toBe(48000);
    }
    expect(() => whisperInput(pcm, 2)).toThrow(AudioFormatError);
  });

  test('8 → 16 kHz keeps a tone\'s shape (1 kHz and 3.4 kHz, telephone band)', () => {
    for (const hz of [1000, 3400]) {
      const n = 8000;
      const input = Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / 8000));
      const out = resample(input, 8000, 16000);
      expect(out.length).toBe(2 * n);
      let maxErr = 0;
      for (let i = 1000; i < out.length - 1000; i++) maxErr = Math.max(maxErr, Math.abs(out[i] - 0.5 * Math.sin((2 * Math.PI * hz * i) / 16000)));
      expect({ hz, ok: maxErr < 0.01 }).toEqual({ hz, ok: true });
    }
    // Down from a wideband recording (44.1 kHz): the tone stays, nothing aliases in.
    const wide = Float32Array.from({ length: 44100 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 44100));
    const down = resample(wide, 44100, 16000);
    expect(down.length).toBe(16000);
    let err = 0;
    for (let i = 2000; i < down.length - 2000; i++) err = Math.max(err, Math.abs(down[i] - 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 16000)));
    expect(err).toBeLessThan(0.01);
    // 16-bit round trip is exact to one step.
    const ramp = Float32Array.from({ length: 100 }, (_, i) => i / 100 - 0.5);
    const back = parseWav(encodeWav16(ramp, 16000)).channels[0];
    for (let i = 0; i < 100; i++) expect(Math.abs(back[i] - ramp[i])).toBeLessThan(1 / 32767);
  });

  test('G.711 µ-law and A-law recordings decode to the standard values', () => {
    const mu = parseWav(wavWith(7, 8, 1, 8000, Buffer.from([0xff, 0x80, 0x00, 0x7f])));
    expect(Array.from(mu.channels[0]).map((v) => Math.round(v * 32768))).toEqual([0, 32124, -32124, 0]);
    const a = parseWav(wavWith(6, 8, 1, 8000, Buffer.from([0xd5, 0x55, 0xaa, 0x2a])));
    expect(Array.from(a.channels[0]).map((v) => Math.round(v * 32768))).toEqual([8, -8, 32256, -32256]);
  });

  test('bad files are refused with a reason; a truncated data chunk gives what is there', () => {
    expect(() => parseWav(Buffer.from('ID3 not a wav at all'))).toThrow(AudioFormatError);
    expect(() => parseWav(wavWith(2, 4, 1, 8000, Buffer.alloc(10)))).toThrow(/unsupported/);
    const cut = WAV.subarray(0, 44 + 400); // the header still claims 96000 bytes
    expect(parseWav(cut).channels[0].length).toBe(100);
  });
});

describe('dialogue', () => {
  const customer: Speaker = { role: 'customer', label: 'ООО «Ромашка»' };
  const employee: Speaker = { role: 'employee', label: 'Анна (1001)' };

  test('two channels merge by time; a speaker\'s close segments join; blanks drop', () => {
    const turns = mergeDialogue([
      { speaker: customer, segments: [{ start: 0.5, end: 2.0, text: 'Добрый день,' }, { start: 2.3, end: 3.0, text: 'мне нужен счёт.' }, { start: 9, end: 10, text: '[BLANK_AUDIO]' }] },
      { speaker: employee, segments: [{ start: 3.2, end: 5.0, text: 'Здравствуйте, сейчас выставлю.' }, { start: 0.0, end: 0.4, text: 'Алло.' }] },
    ]);
    expect(turns.map((t) => [t.speaker.role, t.start, t.end, t.text])).toEqual([
      ['employee', 0.0, 0.4, 'Алло.'],
      ['customer', 0.5, 3.0, 'Добрый день, мне нужен счёт.'],
      ['employee', 3.2, 5.0, 'Здравствуйте, сейчас выставлю.'],
    ]);
    expect(dialogueText(turns)).toBe('[00:00] Анна (1001): Алло.\n[00:00] ООО «Ромашка»: Добрый день, мне нужен счёт.\n[00:03] Анна (1001): Здравствуйте, сейчас выставлю.');
  });
});

/** A stereo 16-bit WAV built chunk by chunk, so headers can be wrong the way real files are. */
function chunk(id: string, body: Buffer, size = body.length): Buffer {
  const h = Buffer.alloc(8);
  h.write(id, 0, 'ascii');
  h.writeUInt32LE(size, 4);
  return Buffer.concat([h, body, body.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}
function fmtBody(channels = 2, rate = 8000, bits = 16, format = 1): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(format, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE((rate * channels * bits) / 8, 8);
  b.writeUInt16LE((channels * bits) / 8, 12);
  b.writeUInt16LE(bits, 14);
  return b;
}
function riff(chunks: Buffer[], riffSize?: number): Buffer {
  const body = Buffer.concat([Buffer.from('WAVE', 'ascii'), ...chunks]);
  const h = Buffer.alloc(8);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(riffSize ?? body.length, 4);
  return Buffer.concat([h, body]);
}
/** `n` stereo frames counting up (left i, right −i, modulo 30000), so where each frame came from is visible. */
function frames(n: number): Buffer {
  const b = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    b.writeInt16LE(i % 30000, i * 4);
    b.writeInt16LE(-(i % 30000), i * 4 + 2);
  }
  return b;
}
const left = (pcm: { channels: Float32Array[] }) => Array.from(pcm.channels[0], (v) => Math.round(v * 32768));

describe('WAV length: the file, not a stale header', () => {
  const audio = frames(48000); // 6 s of 8 kHz stereo

  test('RIFF size 0 and data size 0 (a recorder killed before it closed the file): all 6 s are read', () => {
    const wav = riff([chunk('fmt ', fmtBody()), chunk('data', audio, 0)], 0);
    expect(wavDuration(wav)).toMatchObject({ frames: 48000, seconds: 6, channels: 2, sampleRate: 8000 });
    expect(wavLayout(wav).repaired).toBe(true);
    expect(durationSeconds(parseWav(wav))).toBe(6);
    expect(left(parseWav(wav)).slice(-2)).toEqual([47998 % 30000, 47999 % 30000]);
  });

  test('0xFFFFFFFF sizes (the streaming convention) and a size past the end: to the end of the file, whole frames only', () => {
    expect(wavDuration(riff([chunk('fmt ', fmtBody()), chunk('data', audio, 0xffffffff)], 0xffffffff)).frames).toBe(48000);
    const cut = riff([chunk('fmt ', fmtBody()), chunk('data', Buffer.concat([frames(100), Buffer.from([1, 2])]), 96000 * 4)]);
    expect(wavDuration(cut).frames).toBe(100); // the 2 bytes of a frame never finished are dropped
  });

  test('a header finalised once and then left behind (RIFF and data short of the file): the audio behind is read', () => {
    const data = chunk('data', audio);
    data.writeUInt32LE(16000 * 4, 4); // says 2 s; 6 s follow
    const wav = riff([chunk('fmt ', fmtBody()), data], 4 + 24 + 8 + 16000 * 4);
    expect(wavDuration(wav).seconds).toBe(6);
  });

  test('LIST after data, odd-sized chunks with their pad byte, an empty data chunk, fmt after data', () => {
    const info = chunk('LIST', Buffer.from('INFOISFT\x05\x00\x00\x00Lavf\x00', 'latin1')); // odd-sized inner chunk
    const withList = riff([chunk('fmt ', fmtBody()), chunk('data', frames(10)), info]);
    expect(left(parseWav(withList))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const odd = riff([chunk('bext', Buffer.from('abc')), chunk('fmt ', fmtBody()), chunk('data', frames(3)), chunk('JUNK', Buffer.from('x'))]);
    expect(left(parseWav(odd))).toEqual([0, 1, 2]);
    const emptyData = riff([chunk('fmt ', fmtBody()), chunk('data', Buffer.alloc(0)), info]);
    expect(wavDuration(emptyData).frames).toBe(0);
    const unfinalisedWithList = riff([chunk('fmt ', fmtBody()), chunk('data', frames(10)), info], 0);
    expect(wavDuration(unfinalisedWithList).frames).toBe(10); // RIFF 0, but the data size is followed by a real chunk: it stands
    const fmtLast = riff([chunk('data', frames(4)), chunk('fmt ', fmtBody())]);
    expect(left(parseWav(fmtLast))).toEqual([0, 1, 2, 3]);
  });

  test('WAVE_FORMAT_EXTENSIBLE: PCM and float by their sub-format', () => {
    const ext = (format: number, bits: number) => {
      const b = Buffer.alloc(40);
      fmtBody(2, 8000, bits, 0xfffe).copy(b);
      b.writeUInt16LE(22, 16); // cbSize
      b.writeUInt16LE(bits, 18); // valid bits
      b.writeUInt32LE(3, 20); // channel mask: front left, front right
      b.writeUInt16LE(format, 24); // the sub-format GUID starts with the format code
      Buffer.from('000000001000800000aa00389b71', 'hex').copy(b, 26);
      return b;
    };
    expect(left(parseWav(riff([chunk('fmt ', ext(1, 16)), chunk('data', frames(5))], 0)))).toEqual([0, 1, 2, 3, 4]);
    const float = Buffer.alloc(16);
    [0.5, -0.5, 0.25, -0.25].forEach((v, i) => float.writeFloatLE(v, i * 4));
    expect(Array.from(parseWav(riff([chunk('fmt ', ext(3, 32)), chunk('data', float)])).channels[1])).toEqual([-0.5, -0.25]);
  });

  test('an empty file and a header without samples', () => {
    expect(() => parseWav(Buffer.alloc(0))).toThrow('the file is empty (0 bytes)');
    expect(wavDuration(riff([chunk('fmt ', fmtBody()), chunk('data', Buffer.alloc(0))], 0)).frames).toBe(0);
  });
});
