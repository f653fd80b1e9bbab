// A TLS 1.2 client (node's own tls module, OpenSSL) that asks the server to
// renegotiate, for tests/hostile.rs. Prints one event per line:
//   connected version=TLSv1.2
//   renegotiate error=<code or none>
//   closed
// then `end`. The script asserts nothing; it exits 2 only on a deadline.
//
// Usage: node tls_renegotiate.js PORT CA_FILE
'use strict';
const fs = require('fs');
const tls = require('tls');

const [port, caFile] = [Number(process.argv[2]), process.argv[3]];
const emit = (event, fields = {}) =>
  console.log([event, ...Object.entries(fields).map(([k, v]) => `${k}=${v}`)].join(' '));
setTimeout(() => {
  emit('timeout');
  process.exit(2);
}, 15000).unref();

const socket = tls.connect({
  host: '127.0.0.1',
  port,
  ca: [fs.readFileSync(caFile)],
  servername: 'localhost',
  maxVersion: 'TLSv1.2',
});
let done = false;
const finish = () => {
  if (done) return;
  done = true;
  emit('closed');
  emit('end');
  process.exit(0);
};
socket.on('secureConnect', () => {
  emit('connected', { version: socket.getProtocol() });
  const ok = socket.renegotiate({ rejectUnauthorized: true }, (err) => {
    emit('renegotiate', { error: err ? String(err.code || err.message).replace(/ /g, '_') : 'none' });
    // Whatever the answer, the client leaves.
    socket.destroy();
    finish();
  });
  if (!ok) {
    emit('renegotiate', { error: 'not_started' });
    socket.destroy();
    finish();
  }
});
socket.on('error', (e) => emit('error', { what: String(e.code || e.message).replace(/ /g, '_') }));
socket.on('close', finish);
