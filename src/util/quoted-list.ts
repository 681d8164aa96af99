/**
 * Names in a message, each quoted, at most `max` of them and then how many more: enough to act
 * on, bounded so that many names cannot make a huge message.
 */
export function quotedList(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).map((n) => JSON.stringify(n)).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}
