/**
 * The one `host:port` parser: broker addresses in client options, the proxy's allow-list and the
 * broker a WebSocket client asks the proxy for. Strict (DNS names, IPv4, bracketed IPv6, port
 * 1-65535), so that two spellings of one broker cannot slip past an allow-list as different strings.
 */

/** A parsed address; `key` is its normalised `host:port` form (lower case, IPv6 in brackets). */
export interface HostPort {
  host: string;
  port: number;
  key: string;
}

/** Parses "host:port" / "[v6]:port"; returns undefined when it is not one. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  const host = m[1].toLowerCase();
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port, key: `${host}:${port}` };
}
