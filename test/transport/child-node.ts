/** A transport in its own process, for tests that pause or kill a peer. Prints its port. */
import { startNode } from './harness.js';

const node = await startNode({ id: process.argv[2] ?? 'n2' });
process.stdout.write(`${node.address}\n`);
