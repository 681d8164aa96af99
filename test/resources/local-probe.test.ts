/** This machine's figures: flags from /proc/cpuinfo text, and a reading that passes the validation every answer gets. */
import os from 'node:os';
import t from 'tap';
import { cpuFlagsFromCpuinfo, readMachine } from '../../src/resources/local-probe.js';
import { fromWire, toWire } from '../../src/resources/wire.js';

void t.test('CPU flags come from the first flags (x86) or Features (Arm) line, sorted, names only', async (t) => {
  const x86 = 'processor\t: 0\nmodel name\t: Test\nflags\t\t: sse2 avx fpu avx ??? sse2\n\nprocessor\t: 1\nflags\t\t: other\n';
  t.strictSame(cpuFlagsFromCpuinfo(x86), ['avx', 'fpu', 'sse2']);
  t.strictSame(cpuFlagsFromCpuinfo('processor : 0\nFeatures : fp asimd aes\n'), ['aes', 'asimd', 'fp']);
  t.strictSame(cpuFlagsFromCpuinfo('nothing here'), []);
});

void t.test("this machine's reading survives the wire and its validation", async (t) => {
  const reading = await readMachine(os.tmpdir(), true);
  t.ok(reading.static !== null && reading.static.cpus >= 1 && reading.static.memoryBytes > 0);
  t.ok(reading.live.diskFreeBytes > 0, 'free disk of the data dir file system');
  t.equal(reading.live.loadAverage.length, 3);
  t.strictSame(fromWire(toWire('c1', reading), 'c1', true), reading);
  const liveOnly = await readMachine(os.tmpdir(), false);
  t.equal(liveOnly.static, null, 'static figures only when asked');
});
