/**
 * The audio path in front of Whisper, on the real stereo recording from the FreeSWITCH capture: channel
 * split, 8 → 16 kHz resampling that keeps the signal, G.711 decoding, and the merge of two speakers'
 * segments into one dialogue.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AudioFormatError, durationSeconds, encodeWav16, parseWav, resample, whisperInput } from '../src/transcription/audio';
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
