/**
 * The naming rules Prometheus documents for exposed metrics (and `promtool check metrics`
 * enforces in part), as a checker over text-format output parsed with a Prometheus
 * text-format parser: HELP and TYPE for every family, base units (seconds, bytes), `_total`
 * on counters and only on counters, histograms with their buckets, sum and count.
 */
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';

/** Units that are not base units, as a name suffix or a word in it. */
const NON_BASE_UNITS = ['ms', 'milliseconds', 'microseconds', 'us', 'nanoseconds', 'ns', 'minutes', 'hours', 'days', 'kb', 'kib', 'mb', 'mib', 'gb', 'gib', 'kilobytes', 'megabytes', 'percent'];
/** Words that say a metric measures time: it must then be in seconds. */
const TIME_WORDS = ['duration', 'latency', 'timeout', 'rtt', 'lag', 'time', 'elapsed', 'age'];
/** Words that say a metric measures size: it must then be in bytes. */
const SIZE_WORDS = ['size', 'memory'];

export interface NamingProblem {
  readonly family: string;
  readonly problem: string;
}

function words(name: string): string[] {
  return name.split('_');
}

/** Families declared by `# TYPE` lines, and which have `# HELP` lines. */
function declared(text: string): { types: Map<string, string>; helps: Set<string> } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    const help = /^# HELP (\S+) (.+)$/.exec(line);
    if (help) helps.add(help[1]!);
  }
  return { types, helps };
}

/** The family a sample line belongs to, given the declared families. */
function familyOf(sample: string, types: ReadonlyMap<string, string>): string | null {
  if (types.has(sample)) return sample;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sample.endsWith(suffix)) {
      const base = sample.slice(0, -suffix.length);
      const type = types.get(base);
      if (type === 'histogram' || type === 'summary') return base;
    }
  }
  return null;
}

export function checkNaming(text: string): { families: PrometheusFamily[]; problems: NamingProblem[] } {
  const families = parsePrometheusTextFormat(text);
  const problems: NamingProblem[] = [];
  const { types, helps } = declared(text);
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line)?.[1];
    if (name === undefined) {
      problems.push({ family: line.slice(0, 40), problem: 'a sample line that does not start with a valid metric name' });
      continue;
    }
    const family = familyOf(name, types);
    if (family === null) problems.push({ family: name, problem: 'a sample without a # TYPE line for its family' });
    else if (!helps.has(family)) problems.push({ family, problem: 'no # HELP line' });
  }
  for (const f of families) {
    const w = words(f.name);
    if (f.help.trim() === '') problems.push({ family: f.name, problem: 'an empty HELP text' });
    if (f.type === 'COUNTER' && !f.name.endsWith('_total')) problems.push({ family: f.name, problem: 'a counter whose name does not end in _total' });
    if (f.type !== 'COUNTER' && f.name.endsWith('_total')) problems.push({ family: f.name, problem: `a ${f.type.toLowerCase()} whose name ends in _total` });
    const unit = w.find((x) => NON_BASE_UNITS.includes(x));
    if (unit !== undefined) problems.push({ family: f.name, problem: `"${unit}" is not a base unit (use seconds or bytes)` });
    const base = f.name.replace(/_total$/, '');
    if (w.some((x) => TIME_WORDS.includes(x)) && !base.endsWith('_seconds')) problems.push({ family: f.name, problem: 'measures time but does not end in _seconds' });
    if (w.some((x) => SIZE_WORDS.includes(x)) && !base.endsWith('_bytes')) problems.push({ family: f.name, problem: 'measures size but does not end in _bytes' });
    // A labelled histogram nothing has observed yet (prom-client's GC histogram before the first
    // collection) has no series at all, which the format allows; one with any series needs all three.
    const hasSeries = new RegExp(`\\n${f.name}_(bucket|sum|count)[{ ]`).test(text);
    if (f.type === 'HISTOGRAM' && hasSeries) {
      for (const part of ['_sum', '_count']) {
        if (!text.includes(`\n${f.name}${part}`)) problems.push({ family: f.name, problem: `a histogram without ${part}` });
      }
      if (!new RegExp(`\\n${f.name}_bucket\\{[^}]*le="\\+Inf"`).test(text)) problems.push({ family: f.name, problem: 'a histogram without an le="+Inf" bucket' });
    }
  }
  return { families, problems };
}
