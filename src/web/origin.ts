/**
 * The Origin check on the WebSocket upgrade (docs/web.md, "Origin"). A browser sends the page's
 * origin with every upgrade; a page from another site must not open a chat connection with the
 * visitor's network position (cross-site WebSocket hijacking). Allowed: the origin of this very
 * server as the browser addressed it (the Host header), and those given with --web-origin.
 * Programs that are not browsers send no Origin and are let through: they could as well dial the
 * chat port directly.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, secure: boolean, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  const o = normalizeOrigin(origin);
  if (o === null) return false;
  if (host !== undefined && o === normalizeOrigin(`${secure ? 'https' : 'http'}://${host}`)) return true;
  return allowed.some((a) => normalizeOrigin(a) === o);
}

/** scheme://host[:port] in the URL parser's canonical form (default ports dropped, lower case), or null. */
export function normalizeOrigin(s: string): string | null {
  try {
    const u = new URL(s);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return u.origin;
  } catch {
    return null;
  }
}
