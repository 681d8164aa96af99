/**
 * The exactly-once tag (client id and seq) of a client's request, as the client API takes it:
 * none for an empty id, and never one of the controllers' own report ids, which a client could
 * otherwise move past the controller's seq so that every later report of its agents is refused.
 */
import { CONTROLLER_CLIENT_ID_PREFIX, type ClientTag } from '../statemachine/index.js';
import { ServiceFailure } from './service-error.js';

export function clientTagOf(id: string, seq: number, retry = false): ClientTag | null {
  if (id === '') return null;
  if (id.startsWith(CONTROLLER_CLIENT_ID_PREFIX)) {
    throw new ServiceFailure('INVALID_ARGUMENT', `client id ${JSON.stringify(id.slice(0, 64))}: ids starting with "${CONTROLLER_CLIENT_ID_PREFIX}" are the controllers' own`);
  }
  return retry ? { id, seq, retry } : { id, seq };
}
