import { Script } from '../sim/script.js';

/** A leader `a` with b in replicate state; every append carries one entry (64-byte messages). */
export function replicating(): Script {
  const s = Script.create(['a', 'b', 'c'], { maxInflight: 4, maxMessageBytes: 64 });
  s.elect('a');
  s.propose('a', 'x=0');
  s.stabilize();
  return s;
}
