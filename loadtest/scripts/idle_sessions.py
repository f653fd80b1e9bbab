#!/usr/bin/env python3
"""Opens N bound idle SMPP sessions against a running smsc and reports the
server's RSS (by PID) before and after. Loopback only; bounded in count/time.

usage: idle_sessions.py --pid PID --port PORT [--n 10000] [--system-id ID --password PW]
                        [--tls-ca CA.pem]   (over TLS, trusting that CA; the host name is not checked)
"""
import argparse, resource, socket, ssl, struct, time

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1

def bind_pdu(seq, sid, pw):
    body = sid.encode() + b"\0" + pw.encode() + b"\0" + b"\0" + bytes([0x34, 0, 0]) + b"\0"
    return struct.pack(">IIII", 16 + len(body), 0x09, 0, seq) + body

def recv_exact(s, n):
    """n octets (SSL sockets take no MSG_WAITALL)."""
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise SystemExit("server closed")
        out += chunk
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--system-id", default="movider")
    ap.add_argument("--password", default="1111")
    ap.add_argument("--tls-ca", default=None)
    a = ap.parse_args()
    ctx = None
    if a.tls_ca:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(a.tls_ca)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.n + 1000), hard))
    before = rss_kib(a.pid)
    socks = []
    t0 = time.time()
    for i in range(a.n):
        s = socket.create_connection(("127.0.0.1", a.port), timeout=10)
        if ctx is not None:
            s = ctx.wrap_socket(s)
        s.sendall(bind_pdu(i + 1, a.system_id, a.password))
        hdr = recv_exact(s, 16)
        length, cid, status, seq = struct.unpack(">IIII", hdr)
        recv_exact(s, length - 16)
        assert cid == 0x80000009 and status == 0, (hex(cid), status)
        socks.append(s)
        if time.time() - t0 > 300:
            raise SystemExit("too slow")
    time.sleep(2.0)  # let idle buffers be released (1 s idle) and pages settle
    after = rss_kib(a.pid)
    print(f"sessions={len(socks)} rss_before_kib={before} rss_after_kib={after} "
          f"per_session_bytes={(after - before) * 1024 // max(1, len(socks))}")
    for s in socks:
        s.close()

if __name__ == "__main__":
    main()
