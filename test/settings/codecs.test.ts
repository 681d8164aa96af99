/** Each type of cluster-wide setting reads an operator's value, refuses a bad one by name, and round-trips through the log's JSON. */
import t from 'tap';
import { SETTINGS, SETTING_KEYS, defaultSettings, type ClusterSettings, type SettingKey } from '../../src/settings/index.js';
import { parseIpv4Cidr, formatIpv4Cidr, rangeSize, parseIpv4, formatIpv4, cidrContains } from '../../src/settings/ipv4-cidr.js';

void t.test('IPv4 ranges: canonical forms are accepted, host bits and nonsense refused with the reason', async (t) => {
  const ok = parseIpv4Cidr('241.0.0.0/8');
  t.ok(ok.ok);
  if (ok.ok) {
    t.equal(formatIpv4Cidr(ok.cidr), '241.0.0.0/8');
    t.equal(rangeSize(ok.cidr), 2 ** 24);
    t.ok(cidrContains(ok.cidr, parseIpv4('241.255.255.255')!));
    t.notOk(cidrContains(ok.cidr, parseIpv4('242.0.0.0')!));
  }
  const single = parseIpv4Cidr('10.1.2.3/32');
  t.ok(single.ok && rangeSize(single.cidr) === 1, 'a /32 is a range of one address');
  const hostBits = parseIpv4Cidr('241.0.0.7/8');
  t.notOk(hostBits.ok);
  if (!hostBits.ok) t.match(hostBits.reason, /host bits set; the range it names is 241\.0\.0\.0\/8/);
  for (const bad of ['241.0.0.0', '241.0.0.0/0', '241.0.0.0/33', '256.0.0.0/8', 'a.b.c.d/8', '']) {
    t.notOk(parseIpv4Cidr(bad).ok, `${JSON.stringify(bad)} is refused`);
  }
  t.equal(formatIpv4(parseIpv4('1.2.3.4')!), '1.2.3.4');
  t.equal(parseIpv4('1.2.3'), null);
});

void t.test('operator input: durations need units, counts are whole, flags are true/false, none clears a member', async (t) => {
  const q = SETTINGS['services.vip_quarantine'].codec;
  t.same(q.fromInput('90s'), { ok: true, value: 90_000 });
  const noUnit = q.fromInput(90);
  t.notOk(noUnit.ok);
  if (!noUnit.ok) t.match(noUnit.reason, /duration/);
  t.notOk(q.fromInput('400d').ok, 'an unknown unit is refused');
  t.notOk(SETTINGS['agents.dependency_ttl'].codec.fromInput('10ms').ok, 'below the minimum is refused');

  const publish = SETTINGS['services.agent_publish'].codec;
  t.same(publish.fromInput(' declared '), { ok: true, value: 'declared' });
  t.same(publish.fromInput('open'), { ok: true, value: 'open' });
  t.same(publish.fromInput('Declared'), { ok: false, reason: 'expected one of "open", "declared", found "Declared"' }, 'words are taken as written');
  t.notOk(publish.fromInput(true).ok);
  t.equal(publish.fromJson(' open'), undefined, 'the log holds the word exactly');

  const logs = SETTINGS['autopilot.max_trailing_logs'].codec;
  t.same(logs.fromInput('250'), { ok: true, value: 250 });
  t.same(logs.fromInput(250), { ok: true, value: 250 });
  t.notOk(logs.fromInput('2.5').ok);
  t.notOk(logs.fromInput('-1').ok);
  t.match(logs.fromInput('0'), { ok: false, reason: /^expected a whole number from 10 to 100000, found "0": fewer marks followers unhealthy/ }, 'an operator may not set 0');
  t.match(logs.fromInput(String(Number.MAX_SAFE_INTEGER)), { ok: false, reason: /more lets a learner far behind count as caught up/ }, 'nor 2^53 - 1');
  t.equal(logs.fromJson(0), 0, 'a value an older version committed still applies from the log');

  const flag = SETTINGS['autopilot.promote_learners'].codec;
  t.same(flag.fromInput('true'), { ok: true, value: true });
  t.same(flag.fromInput(false), { ok: true, value: false });
  t.notOk(flag.fromInput('yes').ok, '"yes" is not guessed at');

  const leader = SETTINGS['cluster.preferred_leader'].codec;
  t.same(leader.fromInput('c2'), { ok: true, value: 'c2' });
  t.same(leader.fromInput('none'), { ok: true, value: null });
  t.same(leader.fromInput(''), { ok: true, value: null });
  t.notOk(leader.fromInput('has space').ok);
});

void t.test('every key round-trips its default through the log form, and the log form is strict', async (t) => {
  const defaults = defaultSettings({ electionTimeoutMs: 1_500 });
  t.equal(defaults['autopilot.last_contact_threshold'], 3_000, 'last_contact_threshold defaults to 2 x election timeout');
  for (const key of SETTING_KEYS) {
    const c = check(key, defaults[key]);
    t.ok(c.roundTrips, `${key} round-trips`);
    t.ok(c.refusesObject, `${key} refuses an object in the log`);
    t.ok(c.displayIsInput, `${key}: its display form is valid input`);
  }
  t.equal(SETTINGS['services.vip_cidr'].codec.fromJson('241.0.0.7/8'), undefined, 'a non-canonical range in the log is refused');
  t.equal(SETTINGS['services.vip_quarantine'].codec.fromJson(1.5), undefined, 'a fractional duration in the log is refused');
});

function check<K extends SettingKey>(key: K, value: ClusterSettings[K]): { roundTrips: boolean; refusesObject: boolean; displayIsInput: boolean } {
  const codec = SETTINGS[key].codec;
  const back = codec.fromJson(codec.toJson(value));
  const input = codec.fromInput(codec.format(value));
  return {
    roundTrips: back === value,
    refusesObject: codec.fromJson({}) === undefined,
    displayIsInput: input.ok && input.value === value,
  };
}

void t.test('a flag takes the spellings a YAML file takes for true and false, and no others', async (t) => {
  const flag = SETTINGS['autopilot.cleanup_dead_servers'].codec;
  // YAML 1.2 reads True and TRUE as booleans, so the file accepts them; `ctl config set` must too.
  for (const [input, value] of [['True', true], ['TRUE', true], ['False', false], ['FALSE', false], [' true ', true]] as const) {
    t.same(flag.fromInput(input), { ok: true, value }, JSON.stringify(input));
  }
  for (const input of ['tRUE', 'yes', 'on', '1', 'constructor']) t.notOk(flag.fromInput(input).ok, JSON.stringify(input));
});

void t.test('dead_server_threshold: an operator may set a minute or more; a shorter value in the log still applies (round 6, F3)', async (t) => {
  const codec = SETTINGS['autopilot.dead_server_threshold'].codec;
  t.same(codec.fromInput('1m'), { ok: true, value: 60_000 });
  const short = codec.fromInput('1s');
  t.notOk(short.ok, 'one second is refused');
  if (!short.ok) t.match(short.reason, /^expected at least 1m(0s)?, found "1s": shorter than a restart or a long pause takes, which would remove a healthy voter for good/);
  t.notOk(codec.fromInput('59s').ok);
  t.equal(codec.fromJson(1_000), 1_000, 'committed by an older version: every replica applies it alike');
  t.equal(codec.fromJson(999), undefined, 'below what the log ever held: invalid');
  t.match(codec.expected, /at least 1m/, 'and the help says the floor');
});
