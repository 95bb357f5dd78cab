export { PrometheusMetrics, type PrometheusMetricsOptions } from './prometheus.js';
export { serveObservability, zkAndStoreReady, type ServeSettings, type ServerParts } from './serve.js';
export {
  ObservabilityServer,
  endpointsHandler,
  readiness,
  type ObservabilityServerOptions,
  type EndpointsOptions,
  type ReadyReport,
} from './endpoints.js';
