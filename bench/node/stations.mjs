// An independent OCPP 1.6J charge-point load generator on ocpp-rpc (Node): not our simulator's
// code, and every CALL it sends and every answer it gets is checked against the OCA 1.6 schemas
// (ocpp-rpc's strict mode), so the latency it reports is what a charger that is not ours sees.
//
// N stations connect (ramped), boot, report Available and start a transaction; then each sends a
// MeterValues of six sampled values every interval, on a clock of its own (a random phase within
// the interval, as a depot's chargers are not in step), for the duration; then each stops its
// transaction at its own phase. It reports the acknowledgement latency by message, errors,
// timeouts, dropped connections, its own event-loop delay (what of the latency is the
// generator's), and given the server's pid, the server's CPU and memory. `--timeline` also lists
// each second whose slowest acknowledgement took 25 ms or more, to line up with a server's log.
//
//     node bench/node/stations.mjs --url ws://127.0.0.1:9000/ocpp --stations 1000 \
//       --interval 1 --duration 90 --server-pid PID
import { RPCClient } from 'ocpp-rpc';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:9000/ocpp' },
    stations: { type: 'string', default: '1000' },
    interval: { type: 'string', default: '1' },
    duration: { type: 'string', default: '60' },
    'connect-rate': { type: 'string', default: '500' },
    prefix: { type: 'string', default: 'NODE-' },
    'id-tag': { type: 'string', default: 'LOADTAG' },
    'server-pid': { type: 'string' },
    timeline: { type: 'boolean', default: false },
  },
});
const stations = Number(args.stations);
const interval = Number(args.interval) * 1000;
const duration = Number(args.duration) * 1000;
const connectRate = Number(args['connect-rate']);
const serverPid = args['server-pid'];
for (const [name, v] of [['stations', stations], ['interval', interval], ['duration', duration], ['connect-rate', connectRate]]) {
  if (!(v > 0)) throw new Error(`--${name} must be a positive number`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const latencies = new Map(); // method -> [ms]
const failures = { errors: 0, timeouts: 0, drops: 0, schema: 0 };
let steady = false;
const timeline = new Map(); // wall-clock second -> slowest acknowledgement in it (--timeline)

async function call(client, method, params) {
  const t = performance.now();
  try {
    const result = await client.call(method, params);
    const took = performance.now() - t;
    if (steady || method !== 'MeterValues') {
      const list = latencies.get(method) ?? [];
      list.push(took);
      latencies.set(method, list);
    }
    if (steady && args.timeline) {
      const second = Math.floor(Date.now() / 1000);
      const slowest = timeline.get(second) ?? 0;
      if (took > slowest) timeline.set(second, took);
    }
    return result;
  } catch (e) {
    if (e?.name === 'TimeoutError') failures.timeouts++;
    else failures.errors++;
    if (failures.errors + failures.timeouts <= 5) console.error(`${client.identity} ${method}: ${e?.message ?? e}`);
    return null;
  }
}

// Six sampled values, as an AC charger reports them: the energy register, power, current on
// three phases and the state of charge.
function meterValue(register, power) {
  const amps = (power / 3 / 230).toFixed(1);
  return {
    timestamp: new Date().toISOString(),
    sampledValue: [
      { value: String(register), context: 'Sample.Periodic', measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
      { value: String(power), context: 'Sample.Periodic', measurand: 'Power.Active.Import', unit: 'W' },
      { value: amps, context: 'Sample.Periodic', measurand: 'Current.Import', phase: 'L1', unit: 'A' },
      { value: amps, context: 'Sample.Periodic', measurand: 'Current.Import', phase: 'L2', unit: 'A' },
      { value: amps, context: 'Sample.Periodic', measurand: 'Current.Import', phase: 'L3', unit: 'A' },
      { value: String(20 + (register % 80)), context: 'Sample.Periodic', measurand: 'SoC', unit: 'Percent' },
    ],
  };
}

class Station {
  constructor(n) {
    this.client = new RPCClient({
      endpoint: args.url,
      identity: `${args.prefix}${n}`,
      protocols: ['ocpp1.6'],
      strictMode: true,
      reconnect: false,
      callTimeoutMs: 30000,
    });
    this.client.on('strictValidationFailure', () => failures.schema++);
    this.client.on('disconnect', () => {
      if (!this.closing) failures.drops++;
    });
    this.register = 1000 * n;
    this.power = 11000;
  }

  async start() {
    await this.client.connect();
    await call(this.client, 'BootNotification', { chargePointVendor: 'Bench', chargePointModel: 'ocpp-rpc' });
    await call(this.client, 'StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' });
    const started = await call(this.client, 'StartTransaction', {
      connectorId: 1,
      idTag: args['id-tag'],
      meterStart: this.register,
      timestamp: new Date().toISOString(),
    });
    this.transactionId = started?.transactionId;
  }

  // Sends on its own clock from `from` (phase within the interval) until `until`.
  async run(from, until) {
    for (let at = from; at < until; at += interval) {
      await sleep(at - performance.now());
      this.register += Math.round((this.power * interval) / 3600000);
      await call(this.client, 'MeterValues', {
        connectorId: 1,
        transactionId: this.transactionId,
        meterValue: [meterValue(this.register, this.power)],
      });
    }
  }

  async stop(at) {
    await sleep(at - performance.now());
    if (this.transactionId !== undefined) {
      await call(this.client, 'StopTransaction', {
        transactionId: this.transactionId,
        meterStop: this.register,
        timestamp: new Date().toISOString(),
        reason: 'Local',
      });
    }
    this.closing = true;
    await this.client.close({ code: 1000 });
  }
}

function cpuTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, after the state field
}
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const TICKS = 100; // USER_HZ on Linux

function percentiles(list) {
  const s = [...list].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  return { n: s.length, p50: at(50), p95: at(95), p99: at(99), max: s[s.length - 1] };
}

// Ramp up.
const all = [];
const rssBefore = serverPid ? rssKiB(serverPid) : 0;
const rampStart = performance.now();
await Promise.all(
  Array.from({ length: stations }, async (_, i) => {
    await sleep((i * 1000) / connectRate);
    const s = new Station(i);
    try {
      await s.start();
      all.push(s);
    } catch (e) {
      failures.errors++;
      if (failures.errors <= 5) console.error(`station ${i} did not start: ${e?.message ?? e}`);
    }
  }),
);
console.log(`${all.length} of ${stations} stations charging after ${((performance.now() - rampStart) / 1000).toFixed(1)} s`);

// Steady phase.
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const cpu0 = serverPid ? cpuTicks(serverPid) : 0;
const own0 = process.cpuUsage();
const rssUp = serverPid ? rssKiB(serverPid) : 0;
steady = true;
const begin = performance.now() + 100;
const end = begin + duration;
await Promise.all(all.map((s) => s.run(begin + Math.random() * interval, end)));
steady = false;
const wall = (performance.now() - begin) / 1000;
loop.disable();
const serverCpu = serverPid ? (cpuTicks(serverPid) - cpu0) / TICKS / wall : null;
const own = process.cpuUsage(own0);
const rssPeak = serverPid ? rssKiB(serverPid) : 0;
await Promise.all(all.map((s) => s.stop(performance.now() + Math.random() * interval)));

const f = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(2));
const meter = latencies.get('MeterValues') ?? [];
console.log(`steady phase: ${wall.toFixed(1)} s, ${meter.length} MeterValues acknowledged (${(meter.length / wall).toFixed(0)}/s)`);
console.log('message            count     p50 ms    p95 ms    p99 ms    max ms');
for (const [method, list] of latencies) {
  const p = percentiles(list);
  console.log(`${method.padEnd(18)} ${String(p.n).padStart(6)} ${f(p.p50).padStart(10)} ${f(p.p95).padStart(9)} ${f(p.p99).padStart(9)} ${f(p.max).padStart(9)}`);
}
if (args.timeline) {
  for (const [second, ms] of timeline) {
    if (ms >= 25) console.log(`${new Date(second * 1000).toISOString()} slowest ack ${f(ms)} ms`);
  }
}
console.log(`errors ${failures.errors}, timeouts ${failures.timeouts}, dropped connections ${failures.drops}, schema failures ${failures.schema}`);
console.log(
  `generator: ${(((own.user + own.system) / 1e6 / wall) * 100).toFixed(0)}% of a core, event-loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(2)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`,
);
if (serverPid) {
  console.log(
    `server: ${(serverCpu * 100).toFixed(0)}% of a core in the steady phase, RSS ${(rssBefore / 1024).toFixed(0)} MiB before, ${(rssUp / 1024).toFixed(0)} MiB with every station up, ${(rssPeak / 1024).toFixed(0)} MiB at the end`,
  );
}
process.exit(failures.errors + failures.timeouts + failures.drops + failures.schema > 0 ? 1 : 0);
