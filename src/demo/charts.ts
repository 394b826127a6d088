/** The demo's two charts (chart.js): offline quality per scorer, and the latency of each ranking on this device. */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip, LineController, LineElement, PointElement);
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", sans-serif';
Chart.defaults.color = '#3d4654';

const LABELS: Record<string, string> = { itemKnn: 'Item-kNN', sequential: 'Transitions', userKnn: 'User prototypes', deep: 'Deep', popularity: 'Popularity', fusion: 'Fusion (shipped)' };

/** HR@10 and NDCG@10 of each scorer alone and of the fusion, from manifest.evaluation.scorers. */
export function qualityChart(canvas: HTMLCanvasElement, names: string[], hr10: number[], ndcg10: number[]): Chart {
  return new Chart(canvas, {
    type: 'bar',
    data: {
      labels: names.map((n) => LABELS[n] ?? n),
      datasets: [
        { label: 'HR@10', data: hr10, backgroundColor: '#2f6f8f' },
        { label: 'NDCG@10', data: ndcg10, backgroundColor: '#c27c0e' },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: { y: { beginAtZero: true, title: { display: true, text: 'higher is better' } } },
      plugins: { legend: { position: 'bottom' } },
    },
  });
}

export interface LatencyChart {
  add(method: string, ms: number): void;
}

const COLORS: Record<string, string> = { recommend: '#0b6e4f', similarItems: '#2f6f8f', boughtTogether: '#a23b3b', trending: '#6b4fa0' };
const KEEP = 60;

/** One point per call, per method, newest KEEP calls; `describe` gets a text summary for screen readers. */
export function latencyChart(canvas: HTMLCanvasElement, describe: (text: string) => void): LatencyChart {
  const methods = Object.keys(COLORS);
  let calls = 0;
  const all: number[] = [];
  const chart = new Chart(canvas, {
    type: 'line',
    data: {
      labels: [] as number[],
      datasets: methods.map((m) => ({ label: m, data: [] as (number | null)[], borderColor: COLORS[m], backgroundColor: COLORS[m], spanGaps: true, pointRadius: 2, borderWidth: 1.5 })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: { x: { title: { display: true, text: 'call' } }, y: { beginAtZero: true, title: { display: true, text: 'ms' } } },
      plugins: { legend: { position: 'bottom' } },
    },
  });
  let pending = false;
  return {
    add(method, ms) {
      calls++;
      all.push(ms);
      const labels = chart.data.labels as number[];
      labels.push(calls);
      chart.data.datasets.forEach((d, i) => (d.data as (number | null)[]).push(methods[i] === method ? ms : null));
      if (labels.length > KEEP) {
        labels.shift();
        chart.data.datasets.forEach((d) => (d.data as (number | null)[]).shift());
      }
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        chart.update('none');
        const sorted = [...all].sort((a, b) => a - b);
        const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
        describe(`${all.length} rankings so far; median ${median.toFixed(1)} ms, slowest ${(sorted.at(-1) ?? 0).toFixed(1)} ms. Computed in a worker: the page never waits on a server.`);
      });
    },
  };
}
