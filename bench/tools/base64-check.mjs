// Per-frame cost of checking and decoding a base64 frame: the former regex vs decode-and-re-encode
// (src/protocol/frame.ts). `node bench/tools/base64-check.mjs`; figures in docs/performance.md.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const frame = Buffer.from(Buffer.from(JSON.stringify({ type: 'message', uid: 'u1234567', content: 'x'.repeat(64), room: 'lobby' })).toString('base64'));
const N = 1_000_000;
function regex() { let ok = 0; for (let i = 0; i < N; i++) { const t = frame.toString('latin1'); if (BASE64.test(t)) { Buffer.from(t, 'base64'); ok++; } } return ok; }
function reenc() { let ok = 0; for (let i = 0; i < N; i++) { const t = frame.toString('latin1'); const b = Buffer.from(t, 'base64'); if (b.toString('base64') === t) ok++; } return ok; }
for (const r of [1, 2]) for (const [name, f] of [['regex', regex], ['re-encode', reenc]]) { const t0 = process.hrtime.bigint(); f(); console.log(`round ${r} ${name}: ${Number(process.hrtime.bigint() - t0) / N} ns/frame`); }
