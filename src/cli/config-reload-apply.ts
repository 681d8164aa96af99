/**
 * What a controller does with the config file on SIGHUP (src/config/config-reload.ts): a new
 * controller.log_level is set on the logger at once; keys that wait for a restart are named
 * (CONFIG_RESTART_NEEDED, warn), and cluster-wide settings changed in the file are named as
 * `ctl config set`'s (CONFIG_CLUSTER_SETTING, warn); a file that fails the checks changes nothing
 * (CONFIG_RELOAD_FAILED, error, with the same words a start would print); members of the cluster
 * the file leaves out are named (MEMBER_NOT_IN_FILE, warn: a restart removes none). One CONFIG_RELOADED
 * line (info) on success, so an operator sees every SIGHUP was read.
 */
import type { Logger } from 'pino';
import type { ConfigReload, ConfigReloader } from '../config/config-reload.js';

export function applyConfigReload(reloader: ConfigReloader, logger: Pick<Logger, 'info' | 'warn' | 'error' | 'level'>): ConfigReload {
  const r = reloader.reload();
  if (!r.ok) {
    logger.error({ code: 'CONFIG_RELOAD_FAILED', cause: r.reason }, `config file reload refused, nothing changed: ${r.reason}`);
    return r;
  }
  if (r.logLevel !== null) logger.level = r.logLevel.to;
  const level = r.logLevel === null ? 'log_level unchanged' : `log_level ${r.logLevel.from} -> ${r.logLevel.to}`;
  logger.info({ code: 'CONFIG_RELOADED', logLevel: r.logLevel, restartNeeded: r.restartNeeded, clusterSettings: r.clusterSettings }, `config file reloaded: ${level}`);
  if (r.restartNeeded.length > 0) {
    logger.warn({ code: 'CONFIG_RESTART_NEEDED', keys: r.restartNeeded }, `config file: ${r.restartNeeded.join(', ')} changed; in force after a restart (only controller.log_level and the tls files are reloaded)`);
  }
  if (r.clusterSettings.length > 0) {
    const keys = r.clusterSettings.join(', ');
    logger.warn({ code: 'CONFIG_CLUSTER_SETTING', keys: r.clusterSettings }, `config file: ${keys} changed; cluster-wide settings are not taken from the file, by a reload or a restart (the file's value seeds a new cluster only): change them with ctl config set KEY VALUE`);
  }
  for (const w of r.membersLeftOut) logger.warn({ code: 'MEMBER_NOT_IN_FILE' }, w);
  return r;
}
