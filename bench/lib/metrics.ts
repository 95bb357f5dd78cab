/**
 * What every bench passes its clover bins: metrics on unless `METRICS=false` (the same run with
 * metrics on and off is how the benches show what the metrics cost: bench/README.md), and each
 * bin's /metrics on a free port (0), as several bins of one kind run on one machine here.
 */
export const metricsEnv = { CLOVER_METRICS: process.env.METRICS ?? 'true', CLOVER_METRICS_PORT: '0' };
