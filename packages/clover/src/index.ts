export { startStandalone, type RunningStandalone } from './standalone.js';
export { readStandaloneSettings, SettingError, type StandaloneSettings } from './settings.js';
export { ApiClient, ApiError, resolveApiClient } from './api-client.js';
export { main } from './main.js';
