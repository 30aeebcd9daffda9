import { EslHeaders } from '../event';
import { NO_SUCH_CHANNEL, showJson, uuidDumpAnswer } from '../sim-protocol';
import { CallInstance } from './call';
import { localDate } from './util';

/**
 * The chaos switch's channel table, as FreeSWITCH's core keeps it: a row per channel from CHANNEL_CREATE
 * to CHANNEL_DESTROY, updated as the events happen (whether a client listens or not), and the bridges
 * between them. `show channels` / `show calls` / `uuid_dump` are answered from it in the captures' shapes.
 */

interface LiveChannel {
  inst: CallInstance;
  /** The channel's first and latest event (indices into its call's template). */
  first: number;
  last: number;
  callstate: string;
  createdUs: number;
}

export class ChannelTable {
  private channels = new Map<string, LiveChannel>();
  /** Both ends of each bridge; `a` marks the Bridge-A side (the caller row of `show calls`). */
  private bridges = new Map<string, { partner: string; at: number; a: boolean }>();

  constructor(
    private readonly coreUuid: string,
    /** The switch's next Event-Sequence. */
    private readonly nextSeq: () => number,
  ) {}

  get size(): number {
    return this.channels.size;
  }

  has(uuid: string): boolean {
    return this.channels.has(uuid);
  }

  uuids(): string[] {
    return [...this.channels.keys()];
  }

  /** The channel table as FreeSWITCH's core keeps it: a row from CHANNEL_CREATE to CHANNEL_DESTROY. */
  track(inst: CallInstance, i: number): void {
    const ev = inst.tpl.events[i];
    if (ev.uid < 0) return;
    const uuid = inst.uuids[ev.uid];
    if (ev.name === 'CHANNEL_CREATE') {
      const created = ev.headers['Caller-Channel-Created-Time'];
      const us = typeof created === 'string' && created !== '0' ? inst.mapUs(Number(created)) : inst.mapUs(ev.tUs);
      this.channels.set(uuid, { inst, first: i, last: i, callstate: ev.callState ?? 'DOWN', createdUs: us });
      return;
    }
    const ch = this.channels.get(uuid);
    if (!ch) return;
    if (ev.name === 'CHANNEL_DESTROY') {
      this.channels.delete(uuid);
      const b = this.bridges.get(uuid);
      this.bridges.delete(uuid);
      if (b && this.bridges.get(b.partner)?.partner === uuid) this.bridges.delete(b.partner);
      return;
    }
    ch.last = i;
    if (ev.callState) ch.callstate = ev.callState;
    if (ev.name === 'CHANNEL_BRIDGE' && ev.bridgeA >= 0 && ev.bridgeB >= 0) {
      const a = inst.uuids[ev.bridgeA];
      const b = inst.uuids[ev.bridgeB];
      const at = inst.mapUs(ev.tUs);
      this.bridges.set(a, { partner: b, at, a: true });
      this.bridges.set(b, { partner: a, at, a: false });
    } else if (ev.name === 'CHANNEL_UNBRIDGE' && ev.bridgeA >= 0 && ev.bridgeB >= 0) {
      const a = inst.uuids[ev.bridgeA];
      const b = inst.uuids[ev.bridgeB];
      if (this.bridges.get(a)?.partner === b) this.bridges.delete(a);
      if (this.bridges.get(b)?.partner === a) this.bridges.delete(b);
    }
  }

  private channelRow(uuid: string, ch: LiveChannel): Record<string, string> {
    const { inst, first, last } = ch;
    const v = (k: string) => inst.value(last, k) ?? '';
    const f = (k: string) => inst.value(first, k) ?? '';
    const calleeNum = v('Caller-Callee-ID-Number');
    return {
      uuid,
      direction: v('Call-Direction'),
      created: localDate(ch.createdUs / 1000),
      created_epoch: String(Math.floor(ch.createdUs / 1e6)),
      name: v('Channel-Name'),
      state: v('Channel-State'),
      cid_name: v('Caller-Caller-ID-Name'),
      cid_num: v('Caller-Caller-ID-Number'),
      ip_addr: v('Caller-Network-Addr'),
      dest: v('Caller-Destination-Number'),
      application: v('variable_current_application'),
      application_data: v('variable_current_application_data'),
      dialplan: v('Caller-Dialplan'),
      context: v('Caller-Context'),
      read_codec: v('Channel-Read-Codec-Name'),
      read_rate: v('Channel-Read-Codec-Rate'),
      read_bit_rate: v('Channel-Read-Codec-Bit-Rate'),
      write_codec: v('Channel-Write-Codec-Name'),
      write_rate: v('Channel-Write-Codec-Rate'),
      write_bit_rate: v('Channel-Write-Codec-Bit-Rate'),
      secure: '',
      hostname: v('FreeSWITCH-Hostname'),
      presence_id: v('Channel-Presence-ID'),
      presence_data: v('Channel-Presence-Data'),
      accountcode: v('variable_accountcode'),
      callstate: ch.callstate,
      callee_name: v('Caller-Callee-ID-Name'),
      callee_num: calleeNum,
      callee_direction: calleeNum ? 'SEND' : '',
      call_uuid: v('Channel-Call-UUID'),
      sent_callee_name: v('variable_last_sent_callee_id_name'),
      sent_callee_num: v('variable_last_sent_callee_id_number'),
      initial_cid_name: f('Caller-Caller-ID-Name'),
      initial_cid_num: f('Caller-Caller-ID-Number'),
      initial_ip_addr: f('Caller-Network-Addr'),
      initial_dest: f('Caller-Destination-Number'),
      initial_dialplan: f('Caller-Dialplan'),
      initial_context: f('Caller-Context'),
    };
  }

  /** The calls that have a channel in the table now. */
  listedCalls(): Set<CallInstance> {
    return new Set([...this.channels.values()].map((ch) => ch.inst));
  }

  /** `api show channels as json`, exactly as 1.10.12 shapes it (02_show_channels_midcall.json). */
  showChannels(): string {
    return showJson([...this.channels].map(([u, ch]) => this.channelRow(u, ch)));
  }

  /** `api show calls as json` (02_show_calls_midcall.json): bridged pairs as one row with b_ columns. */
  showCalls(): string {
    const CALL_COLS = ['uuid', 'direction', 'created', 'created_epoch', 'name', 'state', 'cid_name', 'cid_num', 'ip_addr', 'dest', 'presence_id',
      'presence_data', 'accountcode', 'callstate', 'callee_name', 'callee_num', 'callee_direction', 'call_uuid', 'hostname', 'sent_callee_name', 'sent_callee_num'];
    const B_COLS = CALL_COLS.filter((c) => c !== 'call_uuid' && c !== 'hostname');
    const rows: Array<Record<string, string>> = [];
    const callees = new Set<string>();
    for (const [a, br] of this.bridges) {
      if (br.a && this.channels.has(a) && this.channels.has(br.partner)) callees.add(br.partner);
    }
    for (const [u, ch] of this.channels) {
      if (callees.has(u)) continue;
      const full = this.channelRow(u, ch);
      const row: Record<string, string> = {};
      for (const c of CALL_COLS) row[c] = full[c];
      const br = this.bridges.get(u);
      const b = br && callees.has(br.partner) ? this.channels.get(br.partner) : undefined;
      const bRow = b ? this.channelRow(br!.partner, b) : undefined;
      for (const c of B_COLS) row[`b_${c}`] = bRow ? bRow[c] : '';
      row.call_created_epoch = b ? String(Math.floor(br!.at / 1e6)) : '';
      rows.push(row);
    }
    return showJson(rows);
  }

  /** `api uuid_dump <uuid> json`: the channel's last event headers as a CHANNEL_DATA object (capture 02). */
  uuidDump(uuid: string, json: boolean): string {
    const ch = this.channels.get(uuid);
    if (!ch) return NO_SUCH_CHANNEL;
    const seq = this.nextSeq();
    const ev = ch.inst.event(ch.last, seq);
    const now = Date.now();
    const out: EslHeaders = {
      'Event-Name': 'CHANNEL_DATA',
      'Core-UUID': this.coreUuid,
      'FreeSWITCH-Hostname': (ev.headers['FreeSWITCH-Hostname'] as string) ?? 'vm',
      'FreeSWITCH-Switchname': (ev.headers['FreeSWITCH-Switchname'] as string) ?? 'vm',
      'FreeSWITCH-IPv4': (ev.headers['FreeSWITCH-IPv4'] as string) ?? '',
      'FreeSWITCH-IPv6': (ev.headers['FreeSWITCH-IPv6'] as string) ?? '',
      'Event-Date-Local': localDate(now),
      'Event-Date-GMT': new Date(now).toUTCString(),
      'Event-Date-Timestamp': String(now * 1000),
      'Event-Calling-File': 'mod_commands.c',
      'Event-Calling-Function': 'uuid_dump_function',
      'Event-Calling-Line-Number': '6468',
      'Event-Sequence': String(seq),
    };
    const KEEP = /^(Channel-|Unique-ID$|Call-Direction$|Presence-|Answer-State$|Caller-|Other-|variable_)/;
    for (const [k, v] of Object.entries(ev.headers)) if (KEEP.test(k)) out[k] = v;
    out['Channel-Call-State'] = ch.callstate;
    return uuidDumpAnswer(out, json);
  }
}
