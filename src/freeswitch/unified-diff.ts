/**
 * A unified diff (`diff -u` format, 3 lines of context) of two texts, for the installer's dry run. The
 * configuration files are small (hundreds of lines), so a plain LCS table is enough.
 */
export function unifiedDiff(before: string | null, after: string | null, nameBefore: string, nameAfter: string, context = 3): string {
  const a = splitLines(before);
  const b = splitLines(after);
  if (before === after) return '';
  const ops = diffLines(a, b);
  const out: string[] = [`--- ${before === null ? '/dev/null' : nameBefore}`, `+++ ${after === null ? '/dev/null' : nameAfter}`];
  // Group the edit script into hunks with `context` unchanged lines around each change.
  let i = 0;
  while (i < ops.length) {
    if (ops[i].op === ' ') {
      i++;
      continue;
    }
    let start = i;
    let ctxBefore = 0;
    while (start > 0 && ops[start - 1].op === ' ' && ctxBefore < context) {
      start--;
      ctxBefore++;
    }
    let end = i;
    for (;;) {
      while (end < ops.length && ops[end].op !== ' ') end++;
      let run = 0;
      while (end + run < ops.length && ops[end + run].op === ' ') run++;
      if (end + run < ops.length && run <= context * 2) {
        end += run;
        continue;
      }
      end += Math.min(run, context);
      break;
    }
    const hunk = ops.slice(start, end);
    const aStart = hunk[0].ai;
    const bStart = hunk[0].bi;
    const aLen = hunk.filter((o) => o.op !== '+').length;
    const bLen = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${range(aStart, aLen)} +${range(bStart, bLen)} @@`);
    for (const o of hunk) out.push(`${o.op}${o.line}`);
    i = end;
  }
  return `${out.join('\n')}\n`;
}

function range(start: number, len: number): string {
  // diff -u numbers lines from 1; an empty range names the line before it.
  const first = len === 0 ? start : start + 1;
  return len === 1 ? `${first}` : `${first},${len}`;
}

function splitLines(text: string | null): string[] {
  if (text === null || text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

interface Op {
  op: ' ' | '-' | '+';
  line: string;
  /** Index of this line (or of the next line) in a and in b. */
  ai: number;
  bi: number;
}

function diffLines(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = length of the LCS of a[i..] and b[j..]
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ op: ' ', line: a[i], ai: i, bi: j });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push({ op: '-', line: a[i], ai: i, bi: j });
      i++;
    } else {
      ops.push({ op: '+', line: b[j], ai: i, bi: j });
      j++;
    }
  }
  return ops;
}
