/**
 * A start refused as ALREADY_BOOTSTRAPPED (an empty data dir under an id its peers know) was
 * told its state was lost and to rebuild the member: `ctl member remove c1; ctl member add c1
 * ...`. When the member runs right now on another host (a new host given the wrong --id, a
 * second unit started with another data_dir), following that advice removes a healthy voter,
 * and the real c1 then stops for good (exit 10) (operator round 17). So before refusing, the
 * start asks the member's own address: when a controller answers there as the member, with the
 * incarnation the cluster records, the refusal says so (MEMBER_RUNNING) and warns against the
 * removal.
 */
import type { PeerAnswer } from '../identity/index.js';

/** The address to ask: the cluster's record of this member, as a peer answered it; else the file's. */
export function ownAddressToAsk(answers: readonly PeerAnswer[], fileAddress: string): string {
  for (const a of answers) if ('reply' in a && a.reply.you.address !== null) return a.reply.you.address;
  return fileAddress;
}

/** The refusal when `answer` (from the member's own address) is the member running with its recorded data dir; null otherwise. */
export function runningElsewhereRefusal(self: string, dataDir: string, address: string, answers: readonly PeerAnswer[], answer: PeerAnswer): string | null {
  if (!('reply' in answer) || answer.reply.memberId !== self) return null;
  const recorded = answers.flatMap((a) => ('reply' in a && a.reply.you.recorded !== '' ? [a.reply.you.recorded] : []));
  if (!recorded.includes(answer.reply.incarnation)) return null;
  return (
    `member ${self} is running: a controller answers at ${address} (the cluster's address of ${self}) as ${self}, incarnation ${answer.reply.incarnation}, ` +
    `the data dir the cluster records for it, while this process's data dir ${dataDir} is empty. This process is a second ${self}, not a lost one: ` +
    `do not remove ${self}. Check --id (this host may be another member, or a new one: ctl member add ID ADDRESS, then start it with --join)`
  );
}
