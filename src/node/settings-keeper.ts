/**
 * Puts the bootstrapping file's cluster-wide settings into the log, once, and tells the
 * operator when this node's file disagrees with what the cluster runs.
 *
 * Any leader that finds the settings uninitialized proposes its file's values (the state
 * machine keeps the first init and ignores later ones), so the values are written by the
 * cluster's first leader without a special bootstrap step, and an older data dir is upgraded
 * the same way. A node reads its file's values nowhere else.
 */
import type { Logger } from 'pino';
import type { FileSettings } from '../config/settings-from-file.js';
import { SETTING_KEYS, formatSetting, type ClusterSettings, type SettingKey } from '../settings/index.js';
import type { SettingsView } from '../statemachine/settings.js';

export interface SettingsKeeperDeps {
  readonly file: FileSettings;
  readonly view: () => SettingsView;
  readonly isLeader: () => boolean;
  /** Proposes the init command; rejects when it could not be committed. */
  readonly proposeInit: (values: ClusterSettings) => Promise<void>;
  readonly logger: Logger;
}

export interface SettingDifference {
  readonly key: SettingKey;
  readonly file: string;
  readonly cluster: string;
}

/** The keys the file wrote whose value differs from the cluster's. */
export function fileDifferences(file: FileSettings, cluster: ClusterSettings): SettingDifference[] {
  const out: SettingDifference[] = [];
  for (const key of SETTING_KEYS) {
    if (!file.written.includes(key)) continue;
    const mine = formatSetting(key, file.values[key]);
    const theirs = formatSetting(key, cluster[key]);
    if (mine !== theirs) out.push({ key, file: mine, cluster: theirs });
  }
  return out;
}

export class SettingsKeeper {
  private proposing = false;
  private compared = false;

  constructor(private readonly deps: SettingsKeeperDeps) {}

  /** Call after every applied batch and on every change of leader. */
  check(): void {
    const view = this.deps.view();
    if (view.initialized) {
      this.compareOnce(view.all());
      return;
    }
    if (!this.deps.isLeader() || this.proposing) return;
    this.proposing = true;
    this.deps.proposeInit(this.deps.file.values).then(
      () => {
        this.proposing = false;
        this.deps.logger.info('cluster-wide settings written from this node\'s file');
      },
      (err: unknown) => {
        // Lost leadership or timed out: the next leader (maybe this node again) tries again.
        this.proposing = false;
        this.deps.logger.debug({ err }, 'cluster-wide settings not written yet');
      },
    );
  }

  private compareOnce(cluster: ClusterSettings): void {
    if (this.compared) return;
    this.compared = true;
    for (const d of fileDifferences(this.deps.file, cluster)) {
      this.deps.logger.warn(
        { setting: d.key, file: d.file, cluster: d.cluster },
        `cluster-wide setting ${d.key} is ${d.cluster} in the cluster but ${d.file} in this node's file; ` +
          `running with ${d.cluster} (change it with: ctl config set ${d.key} VALUE)`,
      );
    }
  }
}
