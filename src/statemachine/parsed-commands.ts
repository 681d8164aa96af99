/**
 * Commands a kind's own parse built in this process, by identity. encodeParsed (command.ts)
 * remembers a decode only for these: a command built or changed by hand (an unsorted list, a
 * field set to undefined) would be applied as it is on the leader but parsed from the bytes on
 * the followers, and the two could differ (review54b).
 */
const parsed = new WeakSet<object>();

/** Marks `command` as its kind's parse's output, untouched since; returns it. */
export function markParsed<C extends object>(command: C): C {
  parsed.add(command);
  return command;
}

/** Whether `command` was marked by markParsed, forgetting it (one encode per parse). */
export function takeParsed(command: object): boolean {
  return parsed.delete(command);
}
