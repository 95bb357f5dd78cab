import type { RunsOverTimeBucket } from '../api/types';
import { useT, type MessageKey } from '../i18n';
import { formatHour } from '../lib/format';

const SERIES: { key: keyof Omit<RunsOverTimeBucket, 'hour'>; color: string; label: MessageKey }[] = [
  { key: 'succeeded', color: 'var(--ok)', label: 'status.succeeded' },
  { key: 'failed', color: 'var(--bad)', label: 'status.failed' },
  { key: 'timed_out', color: 'var(--warn)', label: 'status.timed_out' },
  { key: 'lost', color: 'var(--lost)', label: 'status.lost' },
  { key: 'other', color: 'var(--idle)', label: 'dashboard.other' },
];

/** Stacked hourly bars as inline SVG: no chart library. */
export function RunsChart({ buckets }: { buckets: RunsOverTimeBucket[] }) {
  const t = useT();
  const width = 1200;
  const height = 170;
  const left = 34;
  const bottom = 18;
  const top = 8;
  const plotH = height - bottom - top;
  const plotW = width - left - 4;
  const totals = buckets.map((b) => SERIES.reduce((s, x) => s + b[x.key], 0));
  const max = Math.max(1, ...totals);
  const niceMax = niceCeil(max);
  const slot = plotW / Math.max(1, buckets.length);
  const barW = Math.max(2, slot * 0.72);
  const labelEvery = Math.max(1, Math.ceil(buckets.length / 12));
  return (
    <div className="chart" data-testid="runs-chart">
      <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-label={t('dashboard.runsOverTime')}>
        {[0, 0.5, 1].map((f) => {
          const y = top + plotH - f * plotH;
          return (
            <g key={f}>
              <line x1={left} x2={width - 4} y1={y} y2={y} className="grid" />
              <text x={left - 4} y={y + 3} textAnchor="end" className="axis">
                {Math.round(niceMax * f)}
              </text>
            </g>
          );
        })}
        {buckets.map((b, i) => {
          let y = top + plotH;
          const x = left + i * slot + (slot - barW) / 2;
          const tip = `${formatHour(b.hour)} — ${SERIES.map((s) => `${t(s.label)} ${b[s.key]}`).join(', ')}`;
          return (
            <g key={b.hour}>
              <title>{tip}</title>
              <rect x={left + i * slot} y={top} width={slot} height={plotH} fill="transparent" />
              {SERIES.map((s) => {
                const v = b[s.key];
                if (!v) return null;
                const h = (v / niceMax) * plotH;
                y -= h;
                return <rect key={s.key} x={x} y={y} width={barW} height={Math.max(1, h)} fill={s.color} />;
              })}
              {i % labelEvery === 0 && (
                <text x={x + barW / 2} y={height - 4} textAnchor="middle" className="axis">
                  {formatHour(b.hour)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <div className="legend">
        {SERIES.map((s) => (
          <span key={s.key}>
            <i style={{ background: s.color }} />
            {t(s.label)}
          </span>
        ))}
      </div>
    </div>
  );
}

function niceCeil(n: number): number {
  if (n <= 5) return Math.max(1, Math.ceil(n));
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}
