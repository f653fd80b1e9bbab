#!/usr/bin/env python3
"""Latency of the admin listener, two smsc builds alternated: the median of
2,000 GET /metrics on one kept-alive connection (after 200 of warm-up) and
of 500 GET /api/v1/overview, each on a new connection (after 100). Each
server is started here (one loop, --admin-listen on an ephemeral port) and
stopped by its PID. Run it pinned away from the server: taskset -c 1.
"""
import http.client, socket, subprocess, sys, time, statistics, re
def run(binary):
    p = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--threads", "1", "--cores", "0", "--account", "a:pw", "--admin-listen", "127.0.0.1:0", "--stats-interval", "0"], stderr=subprocess.PIPE, text=True)
    try:
        admin = None
        t0 = time.time()
        while admin is None and time.time() - t0 < 10:
            l = p.stderr.readline()
            m = re.search(r"admin API on http://([\d.]+):(\d+)", l)
            if m: admin = (m.group(1), int(m.group(2)))
        keep = []
        c = http.client.HTTPConnection(*admin, timeout=5)
        for i in range(2200):
            s = time.perf_counter(); c.request("GET", "/metrics"); r = c.getresponse(); r.read(); e = time.perf_counter()
            assert r.status == 200
            if i >= 200: keep.append(e - s)
        fresh = []
        for i in range(600):
            s = time.perf_counter(); c = http.client.HTTPConnection(*admin, timeout=5); c.request("GET", "/api/v1/overview"); r = c.getresponse(); r.read(); c.close(); e = time.perf_counter()
            assert r.status == 200
            if i >= 100: fresh.append(e - s)
        return statistics.median(keep) * 1e6, statistics.median(fresh) * 1e6
    finally:
        p.terminate(); p.wait()
# Usage: admin_latency.py OLD_BINARY NEW_BINARY [ROUNDS]: the two alternated.
old, new = sys.argv[1], sys.argv[2]
for rnd in range(int(sys.argv[3]) if len(sys.argv) > 3 else 3):
    for label, b in (("old", old), ("new", new)):
        k, f = run(b)
        print(f"{label}: GET /metrics kept-alive median {k:.0f} us; GET /api/v1/overview new connection median {f:.0f} us")
