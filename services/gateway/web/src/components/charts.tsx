// Charts on chart.js (only the parts used are registered, so the bundle stays small) and a
// confusion-matrix heat map as a plain CSS grid.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Tooltip, Legend);
Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily || 'system-ui, sans-serif';
Chart.defaults.color = '#5b6472';

const PALETTE = ['#2456d6', '#e0702f', '#1f9d6b', '#b03fb5', '#d4a017', '#3aa6c9'];

function ChartCanvas({ config, label, height = 220 }: { config: ChartConfiguration; label: string; height?: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);
  useEffect(() => {
    chart.current = new Chart(canvas.current!, config);
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
    // created once; data changes below
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  useEffect(() => {
    const current = chart.current;
    if (!current) return;
    current.data = config.data;
    current.update('none');
  }, [config]);
  return (
    <div class="chart" style={{ height: `${height}px` }}>
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}

export function BarChart({ labels, values, label, height }: { labels: string[]; values: number[]; label: string; height?: number }) {
  const config: ChartConfiguration = {
    type: 'bar',
    data: { labels, datasets: [{ label, data: values, backgroundColor: PALETTE[0] }] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  };
  return <ChartCanvas config={config} label={label} height={height} />;
}

export interface Series {
  label: string;
  values: Array<number | null>;
  axis?: 'y' | 'y1';
}

export function LineChart(props: {
  labels: Array<string | number>;
  series: Series[];
  label: string;
  xTitle: string;
  yTitle: string;
  y1Title?: string;
  yMax?: number;
  height?: number;
}) {
  const { labels, series, label, xTitle, yTitle, y1Title, yMax, height } = props;
  const config: ChartConfiguration = {
    type: 'line',
    data: {
      labels,
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.values,
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        yAxisID: s.axis ?? 'y',
        tension: 0.2,
        spanGaps: true,
      })),
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { title: { display: true, text: xTitle } },
        y: { title: { display: true, text: yTitle }, beginAtZero: true, ...(yMax !== undefined ? { max: yMax } : {}) },
        ...(y1Title
          ? { y1: { position: 'right' as const, title: { display: true, text: y1Title }, beginAtZero: true, grid: { drawOnChartArea: false } } }
          : {}),
      },
    },
  };
  return <ChartCanvas config={config} label={label} height={height} />;
}

/** Rows: true class; columns: predicted class. Each cell's shade is its share of the row. */
export function ConfusionHeatmap({ classes, matrix }: { classes: string[]; matrix: number[][] }) {
  const k = classes.length;
  return (
    <div class="heatmap-wrap">
      <div class="heatmap-axis-x">predicted →</div>
      <div class="heatmap" role="table" aria-label="Confusion matrix: rows true class, columns predicted class" style={{ gridTemplateColumns: `auto repeat(${k}, minmax(1.9rem, 1fr))` }}>
        <div role="row" class="heatmap-row">
          <div role="columnheader" class="heatmap-corner">true ↓</div>
          {classes.map((c) => (
            <div role="columnheader" class="heatmap-head" key={c} title={c}>
              {c}
            </div>
          ))}
        </div>
        {matrix.map((row, i) => {
          const total = row.reduce((s, n) => s + n, 0) || 1;
          return (
            <div role="row" class="heatmap-row" key={i}>
              <div role="rowheader" class="heatmap-head" title={classes[i]}>
                {classes[i]}
              </div>
              {row.map((n, j) => {
                const share = n / total;
                const diagonal = i === j;
                // Diagonal cells in blue (right), the rest in orange (confusions).
                const color = diagonal ? `rgba(36, 86, 214, ${0.08 + 0.92 * share})` : `rgba(224, 112, 47, ${share === 0 ? 0 : 0.12 + 0.88 * share})`;
                return (
                  <div
                    role="cell"
                    key={j}
                    class={`heatmap-cell${share > 0.55 ? ' heatmap-cell-dark' : ''}`}
                    style={{ background: color }}
                    title={`true ${classes[i]}, predicted ${classes[j]}: ${n} (${(share * 100).toFixed(1)} % of the row)`}
                  >
                    {n || ''}
                  </div>
                );
              })}
            </div>
          );
        })}
      </div>
    </div>
  );
}
