import { CallInstance } from './call';

/** The chaos switch's running calls, earliest next event first (a binary min-heap; ties by call order). */
export class CallQueue {
  private heap: CallInstance[] = [];

  get length(): number {
    return this.heap.length;
  }

  /** The call whose next event is due first. */
  get first(): CallInstance | undefined {
    return this.heap[0];
  }

  /** Every queued call (in heap order). */
  get all(): readonly CallInstance[] {
    return this.heap;
  }

  clear(): void {
    this.heap = [];
  }

  push(x: CallInstance): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  /** Restores the order after the first call's `nextAt` moved later. */
  fixFirst(): void {
    const h = this.heap;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l], h[m])) m = l;
      if (r < h.length && less(h[r], h[m])) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }

  popFirst(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      this.fixFirst();
    }
  }
}

function less(a: CallInstance, b: CallInstance): boolean {
  return a.nextAt < b.nextAt || (a.nextAt === b.nextAt && a.seq < b.seq);
}
