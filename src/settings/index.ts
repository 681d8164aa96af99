export { SETTINGS, SETTING_KEYS, defaultSettings, formatSetting, isSettingKey, mapSettings } from './keys.js';
export type { AgentPublish, ClusterSettings, DefaultContext, SettingDefinition, SettingKey } from './keys.js';
export { preferredLeaderProblem, settingsProblems, quorumOf, type SettingProblem, type SettingsContext } from './checks.js';
export { choiceCodec } from './codecs.js';
export type { JsonScalar, Parsed, SettingCodec } from './codecs.js';
export * from './ipv4-cidr.js';
