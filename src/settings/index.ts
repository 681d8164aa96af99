export { SETTINGS, SETTING_KEYS, defaultSettings, formatSetting, isSettingKey, mapSettings } from './keys.js';
export type { ClusterSettings, DefaultContext, SettingDefinition, SettingKey } from './keys.js';
export { preferredLeaderProblem, settingsProblems, quorumOf, type SettingProblem, type SettingsContext } from './checks.js';
export type { JsonScalar, Parsed, SettingCodec } from './codecs.js';
export * from './ipv4-cidr.js';
