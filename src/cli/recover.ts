/**
 * `controller recover --config FILE --id ID [--members ID,...]`: after a quorum is lost for
 * good, makes a survivor (stopped) the seed of the cluster again: its configuration becomes the
 * named members (default: itself alone), every entry in its log is kept and committed, and it
 * says what it is about to do and what it did. It asks nothing: operators run it from scripts.
 * It first asks the other voters whether they still run: a quorum of them answering means the
 * quorum is not lost, and it refuses (--force skips the question). Exit 0 when written; 2 for a
 * running node, a running quorum, an unknown member id, an empty data dir, or a config error; 1
 * when the data dir cannot be read or written. docs/operate.md has the procedure and when not to
 * use it.
 */
import { Command } from 'commander';
import type { NodeConfig } from '../config/index.js';
import { helloDeadlineMs } from '../node/startup.js';
import { RecoverError } from '../recover/errors.js';
import { refusalClause, type RefusingMember } from '../recover/live-quorum.js';
import { classifyAnswer, type VoterAnswer } from '../recover/peer-answers.js';
import type { RecoverPlan } from '../recover/plan.js';
import { recoverDataDir, type RecoverOutcome, type RunningPeers } from '../recover/recover-data-dir.js';
import { askPeers, insecureCredentials, mutualTlsCredentials } from '../transport/index.js';
import { startOfflineTool } from './offline-tool.js';
import { givenOnce } from './given-once.js';

function list(ids: readonly string[]): string {
  return ids.length === 0 ? '(none)' : ids.join(', ');
}

/** What recover is about to do, in the words an operator checks before it writes. */
export function describePlan(self: string, dataDir: string, plan: RecoverPlan, clusterId: RecoverOutcome['clusterId'], asked: readonly string[] | null = null): string {
  const uncommitted = plan.lastIndex > plan.commitBefore ? ` (${plan.commitBefore + 1}..${plan.lastIndex} were not known to be committed)` : '';
  const changes = [
    ...(plan.promoted.length > 0 ? [`promote ${list(plan.promoted)}`] : []),
    ...(plan.removed.length > 0 ? [`remove ${list(plan.removed)}`] : []),
  ];
  return [
    `${self}: ${dataDir}: log ${plan.firstIndex}..${plan.lastIndex} (last term ${plan.lastTerm}), committed up to ${plan.commitBefore}; ` +
      `configuration: voters ${list(plan.before.voters)}, learners ${list(plan.before.learners)}`,
    `about to: keep and commit every entry up to ${plan.lastIndex}${uncommitted}; ` +
      `${changes.length > 0 ? changes.join(', ') : 'change no member'} at term ${plan.hardState.term}, leaving voters ${list(plan.after.voters)}; ` +
      (clusterId.after === null
        ? 'the cluster has no id yet: its next leader draws one'
        : `start a new epoch of the cluster's identity: cluster id ${clusterId.before ?? '(none)'} becomes ${clusterId.after}, so members left out are refused if they come back`),
    asked === null
      ? 'the other voters were not asked whether they still run (--force)'
      : `asked the other voters whether they still run: ${asked.length === 0 ? '(none to ask)' : asked.join('; ')}`,
  ].join('\n');
}

/**
 * A run that finds the configuration already as asked (a recovery run before, run again: it
 * started another epoch, so the member recovered once with it refused this one, each with half
 * of a quorum, attack-operator round 16). Nothing is written; exit 0.
 */
export function describeUnchanged(self: string, configFile: string, plan: RecoverPlan): string {
  return (
    `nothing changed: the configuration in ${self}'s log is already voters ${list(plan.after.voters)} with no learner, so there is no member to remove or promote ` +
    `(a recovery run before left it so?). Running it again would start another epoch of the cluster's identity, which members recovered with the earlier run would refuse.\n` +
    `next: start ${self} with \`controller --config ${configFile} --id ${self}\`; if its quorum is still lost, run recover with --members naming fewer members.`
  );
}

export async function runRecover(argv: readonly string[]): Promise<void> {
  const command = new Command('controller recover')
    .description(
      'After a quorum is lost for good: make this stopped survivor the seed of the cluster again. Its configuration ' +
        'becomes --members (default: itself), and every entry in its log is kept and committed. See docs/operate.md.',
    )
    .requiredOption('-c, --config <file>', 'cluster YAML file', givenOnce('--config'))
    .requiredOption('-i, --id <id>', 'the survivor whose data dir to recover (one of cluster.nodes)', givenOnce('--id'))
    .option('--members <ids>', 'the members to keep, comma separated, this one included (default: this one alone)')
    .option('--force', 'recover even if a quorum of the other voters still answers (that makes a second cluster beside theirs)', false);
  const { opts, config, fail } = startOfflineTool<{ config: string; id: string; members?: string; force: boolean }>(command, argv);
  const keep = opts.members === undefined ? null : opts.members.split(',').map((s) => s.trim());
  try {
    const { plan, keys, unchanged } = await recoverDataDir(config, keep, (p, ids, asked) => process.stdout.write(`${describePlan(opts.id, config.dataDir, p, ids, asked)}\n`), opts.force ? null : runningPeers(config));
    if (unchanged) {
      process.stdout.write(`${describeUnchanged(opts.id, opts.config, plan)}\n`);
      return;
    }
    const left = plan.removed.length === 0 ? '' : ` Do not start ${list(plan.removed)} with their old data dirs: they are no longer members.`;
    const others = plan.after.voters.filter((id) => id !== opts.id);
    const startOthers =
      others.length === 0 ? '' : ` Run this same command on ${list(others)} (their logs must be the same as this one's), then start them: they follow ${opts.id}.`;
    process.stdout.write(
      `done: every entry up to ${plan.hardState.commit} (term ${plan.hardState.term}) is committed and applied into the data dir's snapshot (${keys} keys).\n` +
        `next: start ${opts.id} with \`controller --config ${opts.config} --id ${opts.id}\`.${startOthers} ` +
        `Add new members with \`ctl member add ID ADDRESS\` and start each with --join and an empty data dir.${left}\n`,
    );
  } catch (err) {
    if (err instanceof RecoverError) fail(`refused (${err.code}): ${err.message}`, err.exitCode);
    throw err;
  }
}

function describeAnswer(a: VoterAnswer): string {
  switch (a.kind) {
    case 'member':
      return `runs, log to index ${a.lastIndex}`;
    case 'other-cluster':
      return 'answers for another cluster id';
    case 'refused':
    case 'slow':
      return refusalClause(a);
    case 'silent':
      return 'no answer';
  }
}

/**
 * How long recover waits for each voter's answer: longer than a start's wait, since a live
 * voter on a loaded host that answers late would otherwise read as gone (a down one refuses the
 * connection at once; only an unreachable one costs the wait, once, in an offline tool).
 */
const RECOVER_ASK_MS = 5000;

/** The other voters that answer the start-up question, for this cluster or refusing this file: they still run. */
function runningPeers(config: NodeConfig): RunningPeers {
  return async (targets, asker) => {
    const answers = await askPeers({
      self: config.self.id,
      clusterName: config.clusterName,
      ask: { incarnation: '', clusterId: asker.clusterId, lastIndex: asker.lastIndex, joining: false, nodes: null },
      targets,
      credentials: (config.tls === null ? insecureCredentials() : mutualTlsCredentials(config.tls)).client,
      deadlineMs: Math.max(RECOVER_ASK_MS, helloDeadlineMs(config)),
    });
    const seen = answers.map((a) => classifyAnswer(a, { clusterId: asker.clusterId, clusterName: config.clusterName }));
    return {
      running: seen.flatMap((a) => (a.kind === 'member' ? [{ id: a.id, lastIndex: a.lastIndex }] : [])),
      refused: seen.filter((a): a is RefusingMember => a.kind === 'refused' || a.kind === 'slow'),
      // askPeers answers in the order of its targets.
      asked: seen.map((a, i) => `${a.id} at ${targets[i]?.address ?? '?'}: ${describeAnswer(a)}`),
    };
  };
}
