// Addresses the engine listens on, checked the way it reads them: an IP address and a port
// ("0.0.0.0:9000", "[::1]:8180"), no host names.

/** Whether `text` is an IPv4 or bracketed IPv6 address with a port from 1 to 65535. */
export function isListenAddress(text: string): boolean {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([0-9a-fA-F:.]+)\]):(\d{1,5})$/.exec(text.trim());
  if (!m) return false;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return false;
  if (m[1]) return m[1].split('.').every((o) => Number(o) <= 255 && String(Number(o)) === o);
  try {
    // The URL parser knows every IPv6 spelling (compressed, with an IPv4 tail).
    return new URL(`http://[${m[2]}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}
