/** A pino logger whose JSON lines a test reads back, and a way to let promise callbacks run. */
import { Writable } from 'node:stream';
import pino from 'pino';

export function captureLogs(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  return { logger, lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Lets the callbacks of already-settled promises run (a keeper's proposal answered). */
export async function settlePromises(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
