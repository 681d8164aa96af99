/**
 * The client side of `ctl health` and `ctl resources`, on the channels, failover and deadlines
 * of a ControllerClient; answers decoded as untrusted input.
 */
import type { ControllerClient } from './client.js';
import { controllerMethod } from './controller-proto.js';
import { decodeHealth, type HealthJson } from './health-wire.js';
import { decodeResources, type ResourcesJson } from './resources-wire.js';

/** The leader's health view, from the first endpoint that answers (a follower relays it). */
export async function fetchHealth(client: ControllerClient): Promise<HealthJson> {
  return decodeHealth(await client.call(controllerMethod('Health'), { forwarded: false }));
}

/** Exactly this endpoint's answer (no failover). */
export async function fetchHealthOn(client: ControllerClient, endpoint: string): Promise<HealthJson> {
  return decodeHealth(await client.callOn(endpoint, controllerMethod('Health'), { forwarded: false }));
}

export async function fetchResources(client: ControllerClient, refresh: boolean): Promise<ResourcesJson> {
  return decodeResources(await client.call(controllerMethod('Resources'), { refresh }));
}
