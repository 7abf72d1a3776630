/**
 * Students' clients are Python: a client that uses its socket the way the original client.py
 * does (one connection per request, recv(1024, MSG_WAITALL), which returns only when the server
 * closes) gets its answers without hanging, and GET's answer parses with ast.literal_eval back
 * into exactly the texts posted.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { startBoard, type Board } from '../fixtures/classic/harness.js';

const python = spawnSync('python3', ['-c', 'import ast, socket'], { encoding: 'utf8' });
const skip = python.status === 0 ? false : 'python3 is not installed here';

function runPython(code: string, port: number, timeoutMs = 10_000): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn('python3', ['-c', code, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => {
      p.kill();
      reject(new Error(`python client hung; printed ${JSON.stringify(stdout)} ${stderr}`));
    }, timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ stdout, stderr, code });
    });
  });
}

/** Our own stand-in for the original client.py: same socket calls, same output format. */
const CLIENT_LIKE_ORIGINAL = String.raw`
import socket, sys
PORT = int(sys.argv[1])
def send(message):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.connect(("127.0.0.1", PORT))
        sock.sendall(message.encode())
        received = str(sock.recv(1024, socket.MSG_WAITALL), "utf-8")
        print("Received: {}".format(received))
for m in ["POSTHelloDere!%", "GET%", "POSTHelloAgain!%", "YOLOLOLOLOLOLOLOLOLOL%", "y"]:
    send(m)
`;

const LITERAL_EVAL = String.raw`
import ast, json, socket, sys
PORT = int(sys.argv[1])
def ask(data):
    with socket.create_connection(("127.0.0.1", PORT)) as s:
        s.sendall(data)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b
texts = ["it's", 'say "hi"', "both ' and \"", "back\\slash", "tab\there", "line\nbreak", "cr\r",
         "\x00\x01\x1b\x7f", "café 日本語 😀", "\u00a0\u00ad\u200b\u2028\ue000\U000f0000", "Ω and ' quote"]
for t in texts:
    assert ask(b"POST" + t.encode() + b"%") == b"MSGPosting Message!%", t
answer = ask(b"GET%").decode("utf-8")
assert answer.startswith("MSG") and answer.endswith("%") and answer.count("%") == 1, answer
rows = ast.literal_eval(answer[3:-1])
print(json.dumps({"rows": rows, "posted": texts}))
`;

describe('classic board with Python clients', { skip }, () => {
  let b: Board;
  before(async () => {
    b = await startBoard({ requestTimeoutMs: 300 });
  });
  after(async () => {
    await b.stop();
  });

  it('a client using its sockets like the original client.py prints what it printed against the original', async () => {
    const r = await runPython(CLIENT_LIKE_ORIGINAL, b.port);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, [
      'Received: MSGPosting Message!%',
      "Received: MSG[(1, 'Server has Started'), (2, 'HelloDere!')]%",
      'Received: MSGPosting Message!%',
      'Received: ERRUnknown Command%',
      // The original dropped the unterminated "y" silently (an empty line); we say why.
      'Received: ERRTimeout!%',
      '',
    ].join('\n'));
  });

  it('GET parses with ast.literal_eval into exactly the texts posted', async () => {
    const before = await b.store.lastId();
    const r = await runPython(LITERAL_EVAL, b.port);
    assert.equal(r.code, 0, r.stderr);
    const { rows, posted } = JSON.parse(r.stdout) as { rows: Array<[number, string]>; posted: string[] };
    const mine = rows.filter(([id]) => id > before);
    assert.deepEqual(mine.map(([, t]) => t), posted);
    assert.deepEqual(mine.map(([id]) => id), posted.map((_, i) => before + 1 + i));
  });
});
