export { readSettings, helpFor, SettingError, type Setting, type Spec, type SettingsOf } from './settings.js';
export { text, optionalText, integer, boolean, port, endpoint, url, list, zkConnect, zkRoot } from './parsers.js';
export { runBin, type Closeable } from './bin.js';
