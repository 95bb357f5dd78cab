export { readSettings, helpFor, SettingError, type Setting, type Spec, type SettingsOf } from './settings.js';
export { text, optionalText, secret, integer, boolean, port, endpoint, url, list, zkConnect, zkRoot } from './parsers.js';
export {
  zkSettings,
  plaintextSettings,
  dataDirSettings,
  storeSettings,
  nodeSettings,
  heartbeatSettings,
  logSettings,
  metricsSettings,
  metricsSwitchSettings,
  sharedSettings,
} from './shared.js';
export { runBin, type BinOptions } from './bin.js';
// What a bin's start() is handed, so a bin needs no dependency of its own on @clover/lifecycle.
export { CleanupError, CleanupStack, type FailedStep } from '@clover/lifecycle';
