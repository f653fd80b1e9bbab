// Drives the server with node-smpp 0.5.1 (a client no one here wrote) and
// reports what it saw, one event per line, for tests/interop_node_smpp.rs
// to check:
//
//     EVENT key=value key=value ...
//
// Values never contain spaces: octet strings are printed in hex. The
// script asserts nothing about the server; it exits 2 only if a step cannot
// run at all (connection error, deadline passed).
//
// Usage: node node_smpp_client.js PORT [CA_FILE]
// With CA_FILE: the same over TLS (ssmpp://), trusting that CA.
'use strict';
const fs = require('fs');
const smpp = require('smpp');

const port = Number(process.argv[2]);
const caFile = process.argv[3];
const DEADLINE_MS = 20000;

function emit(event, fields = {}) {
  const parts = [event];
  for (const [k, v] of Object.entries(fields)) parts.push(`${k}=${v}`);
  console.log(parts.join(' '));
}

const hex = (b) => (b && b.length ? Buffer.from(b).toString('hex') : '-');

setTimeout(() => {
  emit('timeout');
  process.exit(2);
}, DEADLINE_MS).unref();

const session = caFile
  ? smpp.connect({
      url: `ssmpp://127.0.0.1:${port}`,
      ca: [fs.readFileSync(caFile)],
      servername: 'localhost',
    })
  : smpp.connect({ url: `smpp://127.0.0.1:${port}` });
session.on('error', (e) => {
  emit('connection_error', { what: String(e.code || e.message).replace(/ /g, '_') });
  process.exit(2);
});

// Every PDU from the server, in wire order (the promise callbacks below run
// later, after all PDUs of one read have been handled).
session.on('pdu', (pdu) => {
  emit('wire', {
    command: pdu.command,
    seq: pdu.sequence_number,
    id: pdu.message_id || pdu.receipted_message_id || '-',
  });
});

// Sends a request and resolves with its response (or a generic_nack).
const request = (command, fields) =>
  new Promise((resolve) => session[command](fields, resolve));

// Receipts arrive as deliver_sm; each is answered and recorded.
const receipts = [];
let receiptWaiter = null;
session.on('deliver_sm', (pdu) => {
  session.send(pdu.response());
  const sm = pdu.short_message || {};
  emit('receipt', {
    esm_class: pdu.esm_class,
    data_coding: pdu.data_coding,
    receipted_message_id: pdu.receipted_message_id || '-',
    message_state: pdu.message_state === undefined ? '-' : pdu.message_state,
    // node-smpp decodes the text by its data_coding; printed back in hex.
    text: hex(Buffer.from(typeof sm.message === 'string' ? sm.message : '', 'latin1')),
  });
  receipts.push(pdu);
  if (receiptWaiter) receiptWaiter();
});
const receiptsArrived = (n) =>
  new Promise((resolve) => {
    receiptWaiter = () => receipts.length >= n && resolve();
    receiptWaiter();
  });

const base = {
  source_addr_ton: 1,
  source_addr_npi: 1,
  source_addr: '447700900001',
  dest_addr_ton: 1,
  dest_addr_npi: 1,
  destination_addr: '447700900002',
  registered_delivery: 1,
};

async function main() {
  await new Promise((resolve) => session.on(caFile ? 'secureConnect' : 'connect', resolve));
  if (caFile) {
    const s = session.socket;
    emit('tls', {
      version: s.getProtocol(),
      authorized: s.authorized,
      peer: hex(s.getPeerCertificate().raw),
    });
  }
  let pdu = await request('bind_transceiver', { system_id: 'esme', password: 'secret' });
  emit('bind', { status: pdu.command_status, system_id: pdu.system_id });

  // node-smpp picks data_coding from the text: 1 (IA5/ASCII), 3 (Latin-1)
  // or 8 (UCS2); `udh` makes it set esm_class 0x40 and prepend the UDH.
  const messages = [
    ['ascii', { short_message: 'Hello from node-smpp' }],
    ['latin1', { short_message: 'Café crème à Zürich' }],
    ['ucs2', { short_message: 'Привет, мир! 你好' }],
    ['udh1', { short_message: { udh: Buffer.from([5, 0, 3, 0x42, 2, 1]), message: 'First half of a long message, ' } }],
    ['udh2', { short_message: { udh: Buffer.from([5, 0, 3, 0x42, 2, 2]), message: 'and its second half.' } }],
    ['payload', { message_payload: Buffer.alloc(300, 'P') }],
  ];
  for (const [kind, fields] of messages) {
    const req = { ...base, ...fields };
    pdu = await request('submit_sm', req);
    emit('resp', {
      kind,
      status: pdu.command_status,
      id: pdu.message_id || '-',
    });
  }
  await receiptsArrived(messages.length);

  // A PDU of SMPP v5.0 that v3.4 does not have: broadcast_sm (0x00000111).
  pdu = await request('broadcast_sm', { source_addr_ton: 1, source_addr_npi: 1, source_addr: '447700900001' });
  emit('broadcast_sm', { answer: pdu.command, status: pdu.command_status });

  // query_sm for a message we accepted (its receipt came: DELIVERED), with
  // its source and with another one.
  const firstId = receipts[0].receipted_message_id;
  pdu = await request('query_sm', { message_id: firstId, source_addr_ton: 1, source_addr_npi: 1, source_addr: '447700900001' });
  emit('query_sm', {
    answer: pdu.command, status: pdu.command_status,
    state: pdu.message_state === undefined ? 255 : pdu.message_state,
    // node-smpp reads final_date into a Date.
    final_unix: pdu.final_date instanceof Date ? Math.floor(pdu.final_date.getTime() / 1000) : 0,
  });
  pdu = await request('query_sm', { message_id: firstId, source_addr_ton: 1, source_addr_npi: 1, source_addr: '447700900999' });
  emit('query_sm_other_source', { answer: pdu.command, status: pdu.command_status });
  pdu = await request('query_sm', { message_id: 'not-one-of-ours', source_addr_ton: 1, source_addr_npi: 1, source_addr: '447700900001' });
  emit('query_sm_bad_id', { answer: pdu.command, status: pdu.command_status });

  // A scheduled message (in 60 s): ENROUTE; replaced; cancelled: DELETED.
  pdu = await request('submit_sm', { ...base, short_message: 'later', schedule_delivery_time: '000000000100000R' });
  const laterId = pdu.message_id;
  const q = async (kind) => {
    const r = await request('query_sm', { message_id: laterId, source_addr_ton: 1, source_addr_npi: 1, source_addr: '447700900001' });
    emit(kind, { answer: r.command, status: r.command_status, state: r.message_state === undefined ? 255 : r.message_state });
  };
  await q('scheduled_query');
  pdu = await request('replace_sm', { message_id: laterId, source_addr_ton: 1, source_addr_npi: 1, source_addr: '447700900001', short_message: 'replaced', registered_delivery: 1 });
  emit('replace_sm', { answer: pdu.command, status: pdu.command_status });
  pdu = await request('cancel_sm', { message_id: laterId, source_addr_ton: 1, source_addr_npi: 1, source_addr: '447700900001' });
  emit('cancel_sm', { answer: pdu.command, status: pdu.command_status });
  await q('cancelled_query');
  pdu = await request('cancel_sm', { message_id: laterId, source_addr_ton: 1, source_addr_npi: 1, source_addr: '447700900001' });
  emit('cancel_again', { answer: pdu.command, status: pdu.command_status });

  // A submit_sm with a malformed destination (letters for TON international).
  pdu = await request('submit_sm', { ...base, destination_addr: 'NOT-A-NUMBER' });
  emit('bad_destination', { answer: pdu.command, status: pdu.command_status });

  pdu = await request('enquire_link', {});
  emit('enquire_link', { answer: pdu.command, status: pdu.command_status });

  pdu = await request('unbind', {});
  emit('unbind', { answer: pdu.command, status: pdu.command_status });
  await new Promise((resolve) => session.close(resolve));
  emit('end');
  process.exit(0);
}

main().catch((e) => {
  emit('script_error', { what: String(e && e.message).replace(/ /g, '_') });
  process.exit(2);
});
