import dgram from 'node:dgram';

/** A UDP port free on loopback now: an mDNS port of a test's own keeps it apart from anything else announcing on this machine. */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
