#!/usr/bin/env python3
"""An example delivery service behind smsc (docs/operations.md, "Broker routes").

smsc publishes every message to a prefix routed to the broker
(`--route 44=nats`) as JSON on `smsc.mt.<system_id>` (JetStream stream
SMSC_MT). This service takes each one from a durable consumer, waits
`--delay` seconds (a carrier would deliver it here), and answers with a
delivery report on `smsc.report`; smsc turns it into the standard receipt
for the submitter, on whichever node its receiver is bound.

    target/tmp/interop/nats/venv/bin/python3 examples/delivery_service.py --nats nats://127.0.0.1:4222 --delay 0.2
    target/tmp/interop/nats/venv/bin/python3 examples/delivery_service.py --nats ... mo --from 447700900123 --to 4479000001 --text hi

It needs nats-py: examples/cluster.sh and the cluster tests set up a venv
with it (target/tmp/interop/nats/venv); run it with that venv's python3.
"""
import argparse
import asyncio
import json
import time

import nats


async def serve(a):
    nc = await nats.connect(a.nats, max_reconnect_attempts=-1)
    js = nc.jetstream()
    # The smsc nodes create the stream; wait for the first one.
    for _ in range(300):
        try:
            await js.stream_info("SMSC_MT")
            break
        except Exception:
            await asyncio.sleep(0.1)
    pending = set()

    async def report(msg):
        try:
            m = json.loads(msg.data)
            await asyncio.sleep(a.delay)
            body = {"id": m["id"], "stat": a.stat, "err": a.err, "done": int(time.time())}
            await nc.publish("smsc.report", json.dumps(body).encode())
            await msg.ack()
        except (ValueError, KeyError):
            await msg.term()  # not a message of ours: never again

    async def on_msg(msg):
        t = asyncio.create_task(report(msg))
        pending.add(t)
        t.add_done_callback(pending.discard)

    await js.subscribe(
        "smsc.mt.>", durable=a.durable, stream="SMSC_MT", cb=on_msg, manual_ack=True,
        pending_msgs_limit=100_000,
    )
    print("delivery service ready", flush=True)
    await asyncio.Event().wait()


async def send_mo(a):
    nc = await nats.connect(a.nats)
    body = {"from": a.from_, "to": a.to, "text": a.text}
    await nc.publish("smsc.mo", json.dumps(body).encode())
    await nc.flush()
    await nc.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nats", default="nats://127.0.0.1:4222")
    p.add_argument("--delay", type=float, default=0.1, help="seconds before the report")
    p.add_argument("--stat", default="DELIVRD", help="the reports' stat (DELIVRD, UNDELIV, ...)")
    p.add_argument("--err", type=int, default=0)
    p.add_argument("--durable", default="delivery-service")
    sub = p.add_subparsers(dest="cmd")
    mo = sub.add_parser("mo", help="publish one inbound MO message on smsc.mo and exit")
    mo.add_argument("--from", dest="from_", required=True)
    mo.add_argument("--to", required=True)
    mo.add_argument("--text", required=True)
    a = p.parse_args()
    asyncio.run(send_mo(a) if a.cmd == "mo" else serve(a))


if __name__ == "__main__":
    main()
