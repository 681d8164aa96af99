/** The identity layer's public surface: cluster and member identity, judged the same everywhere. */
export { judgeBatch, judgeEnvelope, judgePing, localClusterId, voteRefusal, judgeVote, judgeCampaign, creationByCommit, type AcceptanceView, type HeldCommit, type BatchVerdict, type Dropped, type VoteRefusal, type VoteRule } from './acceptance.js';
export { IdentityConflictError, StartupRefusedError } from './errors.js';
export { asksAtCreation, helloReply, type AboutYou, type HelloAsk, type HelloReply, type HelloView } from './hello.js';
export {
  decodeInitialNodes,
  describeDifference,
  encodeInitialNodes,
  initialNodes,
  sameInitialNodes,
  type InitialNode,
  type InitialNodes,
} from './initial-nodes.js';
export { osIdentitySource, seededIdentitySource, type IdentitySource } from './ids.js';
export { leaderDuties, type Duty, type DutyInput, type HeardFrom, type MemberRow } from './leader-duties.js';
export { isRefusalCode, REFUSAL_CODES, REFUSAL_METADATA_KEY, type Refusal, type RefusalCode } from './refusal.js';
export {
  decideStartup,
  joinWaitWarning,
  identityFor,
  type DiskState,
  type PeerAnswer,
  type StartupDecision,
  type StartupInput,
  type StartupRefusalCode,
} from './startup-decision.js';
export { DATA_DIR_ORIGINS, IDENTITY_ID, type DataDirOrigin, type IdentityId, type LocalIdentity, type PeerEnvelope, type RecordedMembers } from './types.js';
