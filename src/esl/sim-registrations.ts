import { EslEvent, EslHeaders, header } from './event';
import { loadFixtureEvents } from './fixtures';

/**
 * The simulator's copy of FreeSWITCH's core `registrations` table, kept from the `CUSTOM sofia::register /
 * unregister / expire` events it emits, and `show registrations as json` over it, as FreeSWITCH 1.10.12
 * writes them (switch_core_sqldb.c switch_core_add_registration / del_registration, mod_commands `show`):
 * rows `{reg_user, realm, token, url, expires, network_ip, network_port, network_proto, hostname, metadata}`,
 * every value a string; token = the REGISTER's Call-ID; url = `sofia/<profile>/sip:<contact URI without
 * the scheme>`; expires = absolute epoch seconds = registration time + expires + sofia's late margin (60 s);
 * `{"row_count": 0}\n` when empty. With `multiple-registrations` off (FreeSWITCH's default) a user keeps
 * one row, the latest; with it on, one row per Call-ID.
 */
export class SimRegistrations {
  private readonly rows = new Map<string, Record<string, string>>();
  multipleRegistrations = false;

  /** Takes a sofia registration event; false for any other event. */
  track(ev: EslEvent): boolean {
    if (ev.name !== 'CUSTOM') return false;
    const sub = header(ev, 'Event-Subclass');
    if (sub !== 'sofia::register' && sub !== 'sofia::unregister' && sub !== 'sofia::expire') return false;
    const user = header(ev, 'from-user') ?? header(ev, 'user') ?? '';
    const realm = header(ev, 'from-host') ?? header(ev, 'host') ?? header(ev, 'realm') ?? '';
    const token = header(ev, 'call-id') ?? '';
    const drop = () => {
      for (const [k, r] of this.rows) {
        if (r.reg_user === user && r.realm === realm && (!this.multipleRegistrations || !token || r.token === token)) this.rows.delete(k);
      }
    };
    if (sub !== 'sofia::register') {
      drop();
      return true;
    }
    const ts = Number(header(ev, 'Event-Date-Timestamp') ?? '');
    const nowSec = Number.isFinite(ts) && ts > 0 ? Math.floor(ts / 1e6) : Math.floor(Date.now() / 1000);
    const contact = /<([^>]*)>/.exec(header(ev, 'contact') ?? '')?.[1] ?? header(ev, 'contact') ?? '';
    const transport = /;transport=([a-z]+)/i.exec(contact)?.[1]?.toLowerCase() ?? 'udp';
    const url = `sofia/${header(ev, 'profile-name') ?? 'internal'}/sip:${contact.replace(/^sips?:/, '')}`;
    drop();
    if (this.multipleRegistrations) for (const [k, r] of this.rows) if (r.url === url) this.rows.delete(k);
    this.rows.set(token || url, {
      reg_user: user,
      realm,
      token,
      url,
      expires: String(nowSec + Number(header(ev, 'expires') ?? '0') + 60),
      network_ip: header(ev, 'network-ip') ?? '',
      network_port: header(ev, 'network-port') ?? '',
      network_proto: transport === 'tls' ? 'tls' : transport === 'tcp' ? 'tcp' : 'udp',
      hostname: header(ev, 'FreeSWITCH-Hostname') ?? 'telefonist-sim',
      metadata: '',
    });
    return true;
  }

  /** `show registrations as json`. */
  show(): string {
    const rows = [...this.rows.values()];
    return rows.length === 0 ? '{"row_count": 0}\n' : JSON.stringify({ row_count: rows.length, rows });
  }

  clear(): void {
    this.rows.clear();
  }
}

let captured: EslHeaders | undefined;

/**
 * A `CUSTOM sofia::register | unregister | expire` event for phone `callId` of `ext`, built on the real
 * sofia::register of capture 17 (phone 1001 on profile `internal`, FreeSWITCH 1.10.12) with the fields
 * changed that differ per phone; unregister and expire carry the headers mod_sofia 1.10.12 gives them
 * (sofia_reg.c: unregister `from-user`/`call-id`/`expires` 0; expire `user`/`host`/`call-id`).
 */
export function registrationEvent(
  kind: 'register' | 'unregister' | 'expire',
  p: { ext: string; callId: string; expires?: number; profile?: string; port?: number; at?: number },
): EslEvent {
  captured ??= loadFixtureEvents('17_click_to_call_failures').find((f) => header(f.event, 'Event-Subclass') === 'sofia::register')!.event.headers;
  const at = p.at ?? Date.now();
  const port = String(p.port ?? 5090);
  const contact = `"" <sip:${p.ext}@127.0.0.1:${port};transport=udp;gw=${p.ext}>`;
  const base: EslHeaders = {
    ...captured,
    'Event-Subclass': `sofia::${kind}`,
    'Event-Date-Timestamp': String(at * 1000),
    'Event-Date-GMT': new Date(at).toUTCString(),
    'profile-name': p.profile ?? 'internal',
  };
  if (kind === 'expire') {
    return {
      name: 'CUSTOM',
      headers: {
        'Event-Subclass': 'sofia::expire', 'Event-Name': 'CUSTOM', 'Core-UUID': base['Core-UUID'], 'FreeSWITCH-Hostname': base['FreeSWITCH-Hostname'],
        'Event-Date-Timestamp': base['Event-Date-Timestamp'], 'Event-Calling-File': 'sofia_reg.c', 'Event-Calling-Function': 'sofia_reg_del_callback',
        'profile-name': base['profile-name'], 'call-id': p.callId, user: p.ext, username: p.ext, host: '127.0.0.1', contact: contact.replace(/^"" </, '').replace(/>$/, ''),
        expires: String(Math.floor(at / 1000)), 'user-agent': String(base['user-agent']), realm: '127.0.0.1', 'network-ip': '127.0.0.1', 'network-port': port,
      },
    };
  }
  for (const k of ['from-user', 'to-user', 'username', 'sip_number_alias', 'sip_auth_username', 'number_alias', 'user_name', 'accountcode', 'effective_caller_id_number']) base[k] = p.ext;
  base['effective_caller_id_name'] = `Extension ${p.ext}`;
  base.contact = contact;
  base['call-id'] = p.callId;
  base['network-port'] = port;
  base.expires = kind === 'register' ? String(p.expires ?? 300) : '0';
  if (kind === 'unregister') base.status = 'Unregistered(UDP)';
  return { name: 'CUSTOM', headers: base };
}
