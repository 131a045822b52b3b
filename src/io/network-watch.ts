/**
 * One process-wide watch on the machine's local addresses (issue 9 item 5).
 *
 * A laptop moving from Wi-Fi to Ethernet, a VPN going down, a phone handing
 * over: the address a socket is bound to leaves its interface, and nothing
 * tells the socket. Linux keeps such a TCP connection (its packets are now
 * routed nowhere) until the heartbeat gives up. This watcher reads
 * `os.networkInterfaces()` every `intervalMs` and tells each subscriber whose
 * local address is no longer on any interface, so a client can drop that
 * connection at once and reconnect from the address it has now.
 *
 * One timer for the whole process, however many subscribers (Netty runs the
 * idle checks of a process on one timer too): it runs at the shortest
 * interval asked for, only while somebody is subscribed, and is unref'd so it
 * never keeps the process alive.
 */
import { SocketAddress, isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { noop } from '../core/noop';

/** Default time between two reads of the interface list, in ms: a network change is noticed within this. */
export const NETWORK_CHECK_MS = 2_000;

/** Reads the interfaces and their addresses (the shape of `os.networkInterfaces()`). */
export type InterfaceList = () => NodeJS.Dict<NetworkInterfaceInfo[]>;

/** The timer the watcher uses; injectable so tests can drive it with a fake clock. */
export interface WatchTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Real timers, unref'd: the watch alone never keeps the process alive. */
const UNREFD_TIMERS: WatchTimers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Subscriber {
  /** The address as found in localAddresses(): see addressKey(). */
  readonly key: string;
  readonly intervalMs: number;
  readonly onGone: () => void;
  /** Compared with the interface list at least once since it subscribed. */
  checked: boolean;
}

/** Watches local addresses for its subscribers on one timer. The process shares one: see watchLocalAddress(). */
export class NetworkWatcher {
  private readonly subs = new Set<Subscriber>();
  /** How many subscribers asked for each interval: the timer runs at the smallest. */
  private readonly intervals = new Map<number, number>();
  private timer: unknown;
  private timerMs: number | undefined;
  /** The address set read last time, as one string; a subscriber already checked is checked again only when it changes. */
  private lastSeen: string | undefined;

  constructor(
    private readonly readInterfaces: InterfaceList = networkInterfaces,
    private readonly timers: WatchTimers = UNREFD_TIMERS,
  ) {}

  /** Interval of the pending timer in ms; undefined when no timer runs (nobody subscribed). */
  get period(): number | undefined {
    return this.timerMs;
  }

  /** How many subscribers are waiting to be told. */
  get size(): number {
    return this.subs.size;
  }

  /**
   * Calls `onGone` once, from a timer, when `address` is no longer on any
   * interface; the subscription then ends by itself. Returns the
   * unsubscribe function (idempotent). A loopback or unspecified address, or
   * none (a socket not connected), is never gone: nothing is watched.
   * @param address a local address as `socket.localAddress` gives it (IPv4, IPv6 with an optional `%scope`, IPv4-mapped IPv6)
   * @param intervalMs longest time, in ms, between the change and the call (the interface list is read this often)
   * @throws TypeError when `address` is not an IP address, `intervalMs` not a positive finite number or `onGone` not a function
   */
  watch(address: string | undefined, intervalMs: number, onGone: () => void): () => void {
    if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new TypeError(`intervalMs must be a positive finite number of ms, got ${String(intervalMs)}`);
    }
    if (typeof onGone !== 'function') throw new TypeError(`onGone must be a function, got ${typeof onGone}`);
    const key = address === undefined ? null : addressKey(address);
    if (key === null) return noop;
    const sub: Subscriber = { key, intervalMs, onGone, checked: false };
    this.subs.add(sub);
    this.intervals.set(intervalMs, (this.intervals.get(intervalMs) ?? 0) + 1);
    this.schedule();
    return () => this.remove(sub);
  }

  private remove(sub: Subscriber): void {
    if (!this.subs.delete(sub)) return;
    const n = (this.intervals.get(sub.intervalMs) ?? 1) - 1;
    if (n > 0) this.intervals.set(sub.intervalMs, n);
    else this.intervals.delete(sub.intervalMs);
    // A longer shortest interval takes effect at the next tick; no subscriber left: no timer.
    if (this.subs.size === 0) this.stopTimer();
  }

  /** Starts the timer, or brings it forward when a subscriber asked for a shorter interval than it runs at. */
  private schedule(): void {
    if (this.subs.size === 0) return this.stopTimer();
    const ms = Math.min(...this.intervals.keys());
    if (this.timer !== undefined && this.timerMs !== undefined && this.timerMs <= ms) return;
    this.stopTimer();
    this.timerMs = ms;
    this.timer = this.timers.set(this.tick, ms);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.timerMs = undefined;
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    this.timerMs = undefined;
    let present: Set<string>;
    try {
      present = localAddresses(this.readInterfaces());
    } catch {
      // The list could not be read this time (libuv's uv_interface_addresses failed): no verdict.
      this.schedule();
      return;
    }
    const seen = [...present].sort().join(' ');
    const changed = seen !== this.lastSeen;
    this.lastSeen = seen;
    const gone: Subscriber[] = [];
    for (const s of this.subs) {
      if ((changed || !s.checked) && !present.has(s.key)) gone.push(s);
      s.checked = true;
    }
    for (const s of gone) this.remove(s);
    this.schedule();
    for (const s of gone) {
      try {
        s.onGone();
      } catch (err) {
        // One subscriber's bug must not keep the others from being told; it still surfaces.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  };
}

/**
 * Every address on an interface, in the forms addressKey() produces: IPv4 and
 * IPv6 as printed by inet_ntop (what `os.networkInterfaces()` gives), plus
 * `addr%ifname` and `addr%scopeid` for IPv6 addresses with a scope.
 */
function localAddresses(list: NodeJS.Dict<NetworkInterfaceInfo[]>): Set<string> {
  const out = new Set<string>();
  for (const [name, infos] of Object.entries(list)) {
    for (const info of infos ?? []) {
      out.add(info.address);
      // Node 18.0–18.3 reported family as a number; scopeid exists on IPv6 entries only.
      const scope = (info as { scopeid?: number }).scopeid;
      if (scope) {
        out.add(`${info.address}%${name}`);
        out.add(`${info.address}%${scope}`);
      }
    }
  }
  return out;
}

/**
 * The form of a socket's local address that localAddresses() lists, or null
 * when it is never gone: loopback (Linux answers on all of 127.0.0.0/8 while
 * listing 127.0.0.1 only, and no network change removes it) and unspecified
 * addresses. IPv6 is canonicalised (inet_pton + inet_ntop); an IPv4-mapped
 * IPv6 address (`::ffff:a.b.c.d`, a dual-stack socket's view of IPv4) is its
 * IPv4 address; a scope (`fe80::1%eth0`, Node's form for link-local) stays.
 */
export function addressKey(address: string): string | null {
  if (typeof address !== 'string') throw new TypeError(`address must be an IP address string, got ${typeof address}`);
  const at = address.indexOf('%');
  const ip = at < 0 ? address : address.slice(0, at);
  const scope = at < 0 ? '' : address.slice(at + 1);
  const family = isIP(ip);
  if (family === 0 || (family === 4 && at >= 0) || (at >= 0 && scope === '')) {
    throw new TypeError(`address must be an IP address, got ${JSON.stringify(address)}`);
  }
  let canonical = new SocketAddress({ address: ip, family: family === 4 ? 'ipv4' : 'ipv6' }).address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(canonical);
  if (mapped?.[1]) canonical = mapped[1];
  if (canonical === '0.0.0.0' || canonical === '::' || canonical === '::1' || canonical.startsWith('127.')) return null;
  return scope && !mapped ? `${canonical}%${scope}` : canonical;
}


const processWatcher = new NetworkWatcher();

/**
 * The process-wide watch: calls `onGone` once, from an unref'd timer, when
 * `address` (a socket's `localAddress`) is no longer on any interface.
 * Returns the unsubscribe function. See NetworkWatcher.watch().
 */
export function watchLocalAddress(address: string | undefined, intervalMs: number, onGone: () => void): () => void {
  return processWatcher.watch(address, intervalMs, onGone);
}
