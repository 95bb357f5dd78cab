export { PrometheusMetrics, type PrometheusMetricsOptions } from './prometheus.js';
export {
  ObservabilityServer,
  endpointsHandler,
  readiness,
  type ObservabilityServerOptions,
  type EndpointsOptions,
  type ReadyReport,
} from './endpoints.js';
