/**
 * The exactly-once tags of a controller's own reports: one client id per run (agent reports
 * under it, mesh reports under `<id>/mesh`, each with its own seq, since both are in flight at
 * once and one seq would refuse whichever committed second). If the state machine refuses a
 * report as older than the latest seq of its id, something else used that id (the client API
 * refuses it, client-tag.ts; an older cluster did not): the controller goes on under a new one
 * instead of retrying a report that can never commit.
 */
import { CONTROLLER_CLIENT_ID_PREFIX, type ClientTag } from '../statemachine/index.js';

export class ReportTags {
  private id: string;
  private reportSeq = 0;
  private meshSeq = 0;

  /** `draw` gives a fresh random suffix (hex) each call. */
  constructor(private readonly draw: () => string) {
    this.id = `${CONTROLLER_CLIENT_ID_PREFIX}${draw()}`;
  }

  nextReport(): ClientTag {
    return { id: this.id, seq: ++this.reportSeq };
  }

  nextMeshReport(): ClientTag {
    return { id: `${this.id}/mesh`, seq: ++this.meshSeq };
  }

  /** A report under `staleId` was refused as stale: a new id, unless a refusal before already renewed it. Returns the id now in use. */
  renew(staleId: string): string {
    if (staleId === this.id || staleId === `${this.id}/mesh`) {
      this.id = `${CONTROLLER_CLIENT_ID_PREFIX}${this.draw()}`;
      this.reportSeq = 0;
      this.meshSeq = 0;
    }
    return this.id;
  }
}
