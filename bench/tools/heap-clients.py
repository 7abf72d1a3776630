import socket, sys, time, json
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.create_connection(('127.0.0.1', port), source_address=('127.0.0.%d' % (2 + i // 900), 0))
    s.sendall((json.dumps({"type": "hello", "username": "u%d" % i, "rooms": []}) + "\n").encode())
    socks.append(s)
for s in socks:
    s.settimeout(5); buf = b''
    while b'"synced"' not in buf:
        d = s.recv(4096)
        if not d: sys.exit('the server closed a connection: %r' % buf[-300:])
        buf += d
print("ready", flush=True)
sys.stdin.readline()
