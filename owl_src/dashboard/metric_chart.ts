import { Component, onMounted, onPatched, onWillUnmount, useRef } from "@odoo/owl";

/** What the chart draws: one line per dataset over the bucket labels. */
export interface ChartSeries {
  key: string;
  label: string;
  color: string;
  data: number[];
  /** Second y axis (right), e.g. sync lag next to outbox depth. */
  right?: boolean;
}

/** The part of Chart.js (Odoo's web/static/lib/Chart, a global once web.chartjs_lib is loaded) used here. */
interface ChartInstance {
  data: { labels: string[]; datasets: unknown[] };
  update(mode?: string): void;
  destroy(): void;
}
type ChartConstructor = new (canvas: HTMLCanvasElement, config: unknown) => ChartInstance;

function chartClass(): ChartConstructor {
  const Chart = (globalThis as { Chart?: ChartConstructor }).Chart;
  if (!Chart) throw new Error("Chart.js is not loaded (web.chartjs_lib)");
  return Chart;
}

/**
 * A line chart over time buckets; clicking a point calls `onPointClick(bucketIndex, seriesKey)`
 * (the dashboard opens the trace of that bucket). Redraws in place when its props change.
 */
export class MetricChart extends Component {
  static override template = "plant_bridge.MetricChart";
  static override props = {
    title: String,
    labels: { type: Array, element: String },
    series: { type: Array, element: Object },
    unit: { type: String, optional: true },
    rightUnit: { type: String, optional: true },
    onPointClick: { type: Function, optional: true },
  };

  declare props: {
    title: string;
    labels: string[];
    series: ChartSeries[];
    unit?: string;
    rightUnit?: string;
    onPointClick?: (index: number, key: string) => void;
  };

  canvas = useRef<HTMLCanvasElement>("canvas");
  chart: ChartInstance | null = null;

  override setup() {
    onMounted(() => this.draw());
    onPatched(() => this.update());
    onWillUnmount(() => this.chart?.destroy());
  }

  datasets() {
    return this.props.series.map((s) => ({
      label: s.label,
      data: s.data,
      borderColor: s.color,
      backgroundColor: s.color,
      pointRadius: 0,
      pointHitRadius: 6,
      borderWidth: 2,
      tension: 0.25,
      yAxisID: s.right ? "right" : "y",
      seriesKey: s.key,
    }));
  }

  draw() {
    const Chart = chartClass();
    const hasRight = this.props.series.some((s) => s.right);
    this.chart = new Chart(this.canvas.el!, {
      type: "line",
      data: { labels: this.props.labels, datasets: this.datasets() },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: {
          x: { ticks: { maxTicksLimit: 8, maxRotation: 0 } },
          y: { beginAtZero: true, title: { display: !!this.props.unit, text: this.props.unit } },
          ...(hasRight && {
            right: {
              position: "right",
              beginAtZero: true,
              grid: { drawOnChartArea: false },
              title: { display: !!this.props.rightUnit, text: this.props.rightUnit },
            },
          }),
        },
        onClick: (_event: unknown, elements: { index: number; datasetIndex: number }[]) => {
          const hit = elements[0];
          if (!hit || !this.props.onPointClick) return;
          this.props.onPointClick(hit.index, this.props.series[hit.datasetIndex]?.key ?? "");
        },
      },
    });
  }

  update() {
    if (!this.chart) return;
    this.chart.data.labels = this.props.labels;
    this.chart.data.datasets = this.datasets();
    this.chart.update("none");
  }
}
