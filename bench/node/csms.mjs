// A minimal OCPP 1.6J central system on ocpp-rpc (Node), for side-by-side tail-latency runs.
//
// It answers what a charger sends while charging and, like the library's own examples, keeps
// nothing: no database, no fsync. The comparison is generous to it: Chargeyard writes every
// acknowledged message to SQLite and fsyncs before answering.
//
//     node bench/node/csms.mjs --port 9300
import { RPCServer } from 'ocpp-rpc';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { port: { type: 'string', default: '9300' }, host: { type: 'string', default: '127.0.0.1' } },
});

const now = () => new Date().toISOString();
let transactions = 0;

const server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });
server.on('client', (client) => {
  client.handle('BootNotification', () => ({ status: 'Accepted', interval: 300, currentTime: now() }));
  client.handle('Heartbeat', () => ({ currentTime: now() }));
  client.handle('StatusNotification', () => ({}));
  client.handle('Authorize', () => ({ idTagInfo: { status: 'Accepted' } }));
  client.handle('StartTransaction', () => ({
    transactionId: ++transactions,
    idTagInfo: { status: 'Accepted' },
  }));
  client.handle('MeterValues', () => ({}));
  client.handle('StopTransaction', () => ({ idTagInfo: { status: 'Accepted' } }));
});
await server.listen(Number(args.port), args.host);
console.log(`ocpp-rpc central system on ws://${args.host}:${args.port}/ (pid ${process.pid})`);
