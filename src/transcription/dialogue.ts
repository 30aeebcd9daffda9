/** A piece of recognised speech, times in seconds from the start of the recording. */
export interface Segment {
  start: number;
  end: number;
  text: string;
}

export interface Speaker {
  /** customer | employee | unknown (a mono recording) */
  role: 'customer' | 'employee' | 'unknown';
  /** Shown to people: the customer's name or number, the employee's name or extension. */
  label: string;
}

export interface Turn extends Segment {
  speaker: Speaker;
}

/**
 * One dialogue from per-channel transcripts: every segment placed by its start time (ties: the earlier
 * end first), consecutive segments of the same speaker less than `joinGap` seconds apart joined into one
 * turn. Empty segments (Whisper's blanks, "[BLANK_AUDIO]") are dropped.
 */
export function mergeDialogue(channels: Array<{ speaker: Speaker; segments: Segment[] }>, joinGap = 1.0): Turn[] {
  const all: Turn[] = [];
  for (const ch of channels) {
    for (const s of ch.segments) {
      const text = s.text.replace(/\[(BLANK_AUDIO|MUSIC|NOISE)\]/gi, '').trim();
      if (text) all.push({ start: s.start, end: Math.max(s.start, s.end), text, speaker: ch.speaker });
    }
  }
  all.sort((a, b) => a.start - b.start || a.end - b.end);
  const out: Turn[] = [];
  for (const t of all) {
    const prev = out[out.length - 1];
    if (prev && prev.speaker === t.speaker && t.start - prev.end < joinGap) {
      prev.end = Math.max(prev.end, t.end);
      prev.text = `${prev.text} ${t.text}`;
    } else {
      out.push({ ...t });
    }
  }
  return out;
}

/** The dialogue as text for 1C: "[00:05] ООО «Ромашка»: Добрый день…". */
export function dialogueText(turns: Array<{ start: number; speaker: string | Speaker; text: string }>): string {
  return turns.map((t) => `[${clock(t.start)}] ${typeof t.speaker === 'string' ? t.speaker : t.speaker.label}: ${t.text}`).join('\n');
}

/** mm:ss */
export function clock(s: number): string {
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}
