export {
  noopLogger,
  recordingLogger,
  errorFields,
  serializeErrors,
  runFields,
  type Logger,
  type LogFields,
  type LogLevel,
  type SerializedError,
  type LogRecord,
  type RecordingLogger,
} from './logger.js';
export {
  noopMetrics,
  secondsBuckets,
  durationBuckets,
  countBuckets,
  type Metrics,
  type Counter,
  type Gauge,
  type Histogram,
  type Labels,
  type MetricDefinition,
  type GaugeDefinition,
  type HistogramDefinition,
} from './metrics.js';
export type { ReadinessCheck, ReadinessChecks } from './health.js';
