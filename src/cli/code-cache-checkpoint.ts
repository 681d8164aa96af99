/**
 * The point in a bundled binary's start where its imports are evaluated and no V8 flag has
 * changed yet: the entry that loaded the bundle (./bundle-entry.ts) writes or reports its code
 * cache here (./code-cache.ts). Called first by tuneForServing (server-tiering.ts), which sets the
 * first flag. A global, since the entry and the bundle are separate scripts; nothing when the
 * binary was not started by such an entry (`node dist/src/cli/*.js`) or nothing was asked.
 */
export const CODE_CACHE_CHECKPOINT = Symbol.for('raft-controller.code-cache-checkpoint');

export function codeCacheCheckpoint(): void {
  const hook: unknown = Reflect.get(globalThis, CODE_CACHE_CHECKPOINT);
  if (typeof hook !== 'function') return;
  Reflect.deleteProperty(globalThis, CODE_CACHE_CHECKPOINT);
  (hook as () => void)();
}
