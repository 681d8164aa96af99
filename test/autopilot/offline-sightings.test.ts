/**
 * Offline sightings: how long this leader has seen each record offline, by its monotonic clock,
 * restarted when the record's offline-since changes and forgotten when it is online again.
 */
import t from 'tap';
import { NO_SIGHTINGS, noteOfflineSightings, seenOfflineForMs } from '../../src/autopilot/offline-sightings.js';

void t.test('a record is counted from the first look that saw it offline, whatever its wall-clock offline-since says', async (t) => {
  let s = noteOfflineSightings(NO_SIGHTINGS, [{ id: 'c2', offlineSince: null }, { id: 'c3', offlineSince: 1_000 }], 500);
  t.equal(seenOfflineForMs(s, 'c2', 500), null, 'online: not seen offline');
  s = noteOfflineSightings(s, [{ id: 'c3', offlineSince: 1_000 }], 9_500);
  t.equal(seenOfflineForMs(s, 'c3', 9_500), 9_000, 'counted from the first sighting at 500');
  s = noteOfflineSightings(s, [{ id: 'c3', offlineSince: 50_000 }], 10_000);
  t.equal(seenOfflineForMs(s, 'c3', 12_000), 2_000, 'offline again since another time: counted afresh');
  s = noteOfflineSightings(s, [{ id: 'c3', offlineSince: null }], 13_000);
  t.equal(seenOfflineForMs(s, 'c3', 13_000), null, 'online again: forgotten');
});
