"""Drives the server with python-smpplib (a client no one here wrote) and
reports what it saw, one event per line, for tests/interop_smpplib.rs to
check:

    EVENT key=value key=value ...

Values never contain spaces: octet strings are printed in hex. The script
itself asserts nothing about the server; it only fails (exit 2) if a step
cannot run at all, e.g. the server closed the connection.

Usage: smpplib_client.py SCENARIO PORT [CA_FILE [SYSTEM_ID [CERT KEY]]]
(the tls scenario: over TLS, trusting CA_FILE, with a client certificate
if CERT and KEY are given)
"""
import socket
import ssl
import sys
import time

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp

HOST = "127.0.0.1"
SYSTEM_ID = "esme"
PASSWORD = "secret"
# Every wait is bounded: the whole script gives up after this many seconds.
DEADLINE = time.monotonic() + 20


def emit(event, **fields):
    parts = [event] + ["%s=%s" % (k, v) for k, v in fields.items()]
    print(" ".join(parts), flush=True)


def hexs(b):
    if isinstance(b, str):
        b = b.encode("latin-1")
    return (b or b"").hex() or "-"


def client(port, timeout=5, ssl_context=None):
    c = smpplib.client.Client(
        HOST, port, timeout=timeout, allow_unknown_opt_params=True, ssl_context=ssl_context
    )
    c.connect()
    return c


def record_resps(c, got=None):
    """submit_sm_resp handler: one `resp` line per response."""

    def sent(pdu, **_):
        if got is not None:
            got.append(pdu)
        emit("resp", seq=pdu.sequence, status=pdu.status, id=pdu.message_id.decode())

    c.set_message_sent_handler(sent)


def record_receipts(c, got):
    """deliver_sm handler: one `receipt` line per deliver_sm; smpplib then
    answers deliver_sm_resp by itself."""

    def received(pdu, **_):
        got.append(pdu)
        emit(
            "receipt",
            esm_class=pdu.esm_class,
            receipted_message_id=(pdu.receipted_message_id or b"-").decode(),
            message_state=pdu.message_state,
            text=hexs(pdu.short_message),
        )

    c.set_message_received_handler(received)


def read_until(c, done):
    """read_once until done() or the deadline. A socket timeout inside
    read_once makes smpplib send enquire_link, which the server answers."""
    while not done():
        if time.monotonic() > DEADLINE:
            emit("timeout")
            return
        c.read_once()


def send_text(c, kind, text, use_udhi=True, sar_ref=None, dest="447700900002"):
    """A text split the way smpplib's users split it (gsm.make_parts)."""
    parts, coding, esm_class = smpplib.gsm.make_parts(text, use_udhi=use_udhi)
    seqs = []
    for i, part in enumerate(parts, start=1):
        extra = {}
        if sar_ref is not None and len(parts) > 1:
            extra = dict(sar_msg_ref_num=sar_ref, sar_total_segments=len(parts), sar_segment_seqnum=i)
        p = c.send_message(
            source_addr_ton=smpplib.consts.SMPP_TON_INTL,
            source_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
            source_addr="447700900001",
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
            dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
            destination_addr=dest,
            short_message=part,
            data_coding=coding,
            esm_class=esm_class,
            registered_delivery=smpplib.consts.SMPP_SMSC_DELIVERY_RECEIPT_BOTH,
            **extra,
        )
        emit("sent", seq=p.sequence, kind=kind, coding=coding, esm_class=esm_class, part=hexs(part))
        seqs.append(p.sequence)
    return seqs


def scenario_trx(port):
    """One TRX bind: long GSM (UDH), long UCS2 (UDH), long GSM with SAR TLVs,
    message_payload, binary; every receipt on the same bind; then a bad
    destination, an explicit enquire_link and unbind."""
    c = client(port)
    resp = c.bind_transceiver(system_id=SYSTEM_ID, password=PASSWORD)
    emit("bind", status=resp.status, system_id=resp.system_id.decode())
    record_resps(c)
    got = []
    record_receipts(c, got)

    sent = []
    sent += send_text(c, "gsm_udh", "Price: $5 @ shop_1! " * 20)  # 400 chars: 3 parts
    sent += send_text(c, "ucs2_udh", "Привет, мир! Это длинное сообщение. " * 3)  # UCS2, 2 parts
    sent += send_text(c, "gsm_sar", "SAR segmented text. " * 15, use_udhi=False, sar_ref=0x1234)
    p = c.send_message(
        source_addr_ton=1, source_addr_npi=1, source_addr="447700900001",
        dest_addr_ton=1, dest_addr_npi=1, destination_addr="447700900002",
        short_message=None, message_payload=b"P" * 250, data_coding=3,
        registered_delivery=1,
    )
    emit("sent", seq=p.sequence, kind="payload", coding=3, esm_class=0, part=hexs(b"P" * 250))
    sent.append(p.sequence)
    binary = bytes(range(140))
    p = c.send_message(
        source_addr_ton=1, source_addr_npi=1, source_addr="447700900001",
        dest_addr_ton=1, dest_addr_npi=1, destination_addr="447700900002",
        short_message=binary, data_coding=4, registered_delivery=1,
    )
    emit("sent", seq=p.sequence, kind="binary", coding=4, esm_class=0, part=hexs(binary))
    sent.append(p.sequence)
    emit("total", submitted=len(sent))

    # Responses and receipts interleave on a TRX bind.
    read_until(c, lambda: len(got) >= len(sent))

    # A bad destination: smpplib reports the error status as PDUError.
    c.send_message(
        source_addr_ton=1, source_addr_npi=1, source_addr="447700900001",
        dest_addr_ton=1, dest_addr_npi=1, destination_addr="",
        short_message=b"x",
    )
    try:
        c.read_once()
        emit("bad_destination", status=0)
    except smpplib.exceptions.PDUError as e:
        emit("bad_destination", status=e.args[1])

    # An explicit enquire_link, answered with enquire_link_resp.
    c.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=c))
    p = c.read_pdu()
    emit("enquire_link", answer=p.command, status=p.status)

    resp = c.unbind()
    emit("unbind", answer=resp.command, status=resp.status)
    c.disconnect()


def scenario_bad_password(port):
    c = client(port)
    try:
        c.bind_transceiver(system_id=SYSTEM_ID, password="wrong")
        emit("bind", status=0)
    except smpplib.exceptions.PDUError as e:
        emit("bind", status=e.args[1])
    c.disconnect()


def scenario_held(port):
    """Receipts for a TX bind's messages wait while no receiver is bound,
    then arrive on an RX bind of the same system_id."""
    tx = client(port)
    tx.bind_transmitter(system_id=SYSTEM_ID, password=PASSWORD)
    resps = []
    record_resps(tx, resps)
    # A receipt sent to the transmitter (wrongly) would be reported too.
    record_receipts(tx, [])
    seqs = send_text(tx, "gsm", "held receipt one") + send_text(tx, "gsm", "held receipt two")
    read_until(tx, lambda: len(resps) >= len(seqs))
    time.sleep(0.2)  # the receipts are made now; none may come to a TX bind
    tx.poll()
    tx.unbind()
    tx.disconnect()
    emit("tx_closed")
    time.sleep(0.3)  # the receipts are made while nobody can take them

    rx = client(port)
    resp = rx.bind_receiver(system_id=SYSTEM_ID, password=PASSWORD)
    emit("bind", status=resp.status, system_id=resp.system_id.decode())
    got = []
    record_receipts(rx, got)
    read_until(rx, lambda: len(got) >= len(seqs))
    rx.unbind()
    rx.disconnect()


def scenario_enquire(port):
    """The server's enquire_link timer (1 s in the test) fires while smpplib
    listens; smpplib answers each one, and the session stays bound."""
    c = client(port, timeout=10)  # no client-side enquire_link within the run
    c.bind_transceiver(system_id=SYSTEM_ID, password=PASSWORD)
    seen = []
    answer = c._enquire_link_received

    def counted(pdu):
        seen.append(pdu.sequence)
        emit("server_enquire_link", seq=pdu.sequence)
        answer(pdu)

    c._enquire_link_received = counted
    read_until(c, lambda: len(seen) >= 3)
    resp = c.unbind()
    emit("unbind", answer=resp.command, status=resp.status)
    c.disconnect()


def scenario_mo(port):
    """ESME to ESME: smpplib submits long GSM and UCS2 texts (UDH parts) to
    a number account `mo` owns; a second smpplib client bound as receiver
    of `mo` gets each part as a deliver_sm and answers it; then the
    submitter gets its receipts."""
    rx = client(port)
    resp = rx.bind_receiver(system_id="mo", password="pw")
    emit("bind", who="mo", status=resp.status)
    mos = []

    def received(pdu, **_):
        mos.append(pdu)
        emit(
            "mo",
            esm_class=pdu.esm_class,
            data_coding=pdu.data_coding,
            source=pdu.source_addr.decode(),
            dest=pdu.destination_addr.decode(),
            text=hexs(pdu.short_message),
        )

    rx.set_message_received_handler(received)

    tx = client(port)
    tx.bind_transceiver(system_id=SYSTEM_ID, password=PASSWORD)
    record_resps(tx)
    receipts = []
    record_receipts(tx, receipts)
    sent = []
    sent += send_text(tx, "gsm_udh", "Hello B, price $5 @ shop! " * 12, dest="447912345678")
    sent += send_text(tx, "ucs2_udh", "Привет, мир! Это длинное сообщение. " * 3, dest="447912345678")
    emit("total", submitted=len(sent))
    # The receiver reads (and answers) every part; the submitter then reads
    # its responses and the receipts they earned.
    read_until(rx, lambda: len(mos) >= len(sent))
    read_until(tx, lambda: len(receipts) >= len(sent))
    rx.unbind()
    rx.disconnect()
    tx.unbind()
    tx.disconnect()


def scenario_tls(port, ca_file, system_id=SYSTEM_ID, cert=None, key=None):
    """Over TLS (ssl.SSLContext trusting the test CA; smpplib wraps the
    socket without a server name, so the chain is verified, not the host
    name): bind TRX, submit with a receipt, get the receipt, unbind."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(ca_file)
    if cert:
        ctx.load_cert_chain(cert, key)
    c = client(port, ssl_context=ctx)
    s = c._socket
    emit(
        "tls",
        version=s.version(),
        cipher=s.cipher()[0],
        peer=hexs(s.getpeercert(binary_form=True)),
    )
    try:
        resp = c.bind_transceiver(system_id=system_id, password=PASSWORD)
        emit("bind", status=resp.status, system_id=resp.system_id.decode())
    except smpplib.exceptions.PDUError as e:
        emit("bind", status=e.args[1])
        c.disconnect()
        return
    resps = []
    record_resps(c, resps)
    got = []
    record_receipts(c, got)
    seqs = send_text(c, "gsm", "hello over TLS")
    read_until(c, lambda: len(resps) >= len(seqs) and len(got) >= len(seqs))
    resp = c.unbind()
    emit("unbind", answer=resp.command, status=resp.status)
    c.disconnect()


SCENARIOS = {
    "mo": scenario_mo,
    "tls": scenario_tls,
    "trx": scenario_trx,
    "bad_password": scenario_bad_password,
    "held": scenario_held,
    "enquire": scenario_enquire,
}

if __name__ == "__main__":
    name, port = sys.argv[1], int(sys.argv[2])
    try:
        SCENARIOS[name](port, *sys.argv[3:])
    except (smpplib.exceptions.ConnectionError, socket.error) as e:
        emit("connection_error", what=str(e).replace(" ", "_"))
        sys.exit(2)
    emit("end")
