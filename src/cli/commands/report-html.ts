import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { AnalyticsReport } from '../../projections/analytics/index'
import { formatCount, renderReportTables } from './report-table'

/** Where the report's page gets its data: the id of its inline JSON script element. */
export const REPORT_DATA_ELEMENT_ID = 'parley-report-data'

/** What the page says about where its numbers come from. */
export interface ReportPageMeta {
  /** ISO time the report was made. */
  generatedAt: string
  /** The window of the log that was read, in words. */
  window: string
}

/**
 * Chart.js's browser bundle (UMD), read from the installed package, to be inlined: the page must
 * open with no network. The package exports only its module entry points, so the bundle is found
 * beside the CommonJS one.
 */
export function loadChartJs(): string {
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.js'), 'utf8')
}

/**
 * One self-contained HTML page: the report's tables as text (readable without scripts), its
 * charts, the chart library and the data, all inline. Nothing is fetched when it opens.
 */
export function renderReportHtml(
  report: AnalyticsReport,
  meta: ReportPageMeta,
  chartJs: string,
): string {
  const data = JSON.stringify({ meta, report }).replace(/</g, '\\u003c')
  const charts = CHARTS.map(
    ({ id, title }) =>
      `<section class="card"><h2>${escapeHtml(title)}</h2>` +
      `<div class="chart"><canvas id="${id}"></canvas></div></section>`,
  ).join('\n')

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parley report</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Parley report</h1>
<p class="meta">${escapeHtml(meta.window)}. Generated ${escapeHtml(meta.generatedAt)}.
${formatCount(report.conversations.opened)} conversations opened,
${formatCount(report.conversations.closed)} closed,
${formatCount(report.events)} conversation events read.</p>
<main class="grid">
${charts}
</main>
<details open><summary>Tables</summary><pre>${escapeHtml(renderReportTables(report))}</pre></details>
<script>${inlineScript(chartJs)}</script>
<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">${data}</script>
<script>${inlineScript(PAGE_SCRIPT)}</script>
</body>
</html>
`
}

const CHARTS = [
  { id: 'first-response', title: 'First response per agent (seconds)' },
  { id: 'time-to-close', title: 'Time to close per agent (minutes)' },
  { id: 'days', title: 'Conversations per day (UTC)' },
  { id: 'formats', title: 'Messages per format' },
  { id: 'pushes', title: 'Pushes per message and recipient' },
  { id: 'ack-latency', title: 'Acknowledgement latency, first push to ack (seconds)' },
  { id: 'unacknowledged', title: 'Messages never acknowledged, by recipient' },
] as const

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { margin: 0 0 4px; } h2 { font-size: 15px; margin: 0 0 8px; }
.meta { color: #555; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 12px; }
.chart { position: relative; height: 260px; }
pre { font-size: 12px; overflow-x: auto; }
`

// Runs in the browser: it reads the inline data and draws each chart with Chart.js.
const PAGE_SCRIPT = `
(function () {
  var el = document.getElementById('${REPORT_DATA_ELEMENT_ID}');
  var report = JSON.parse(el.textContent).report;
  var seconds = function (ms) { return ms === null ? null : ms / 1000; };
  var minutes = function (ms) { return ms === null ? null : ms / 60000; };
  var pick = function (rows, f) { return rows.map(f); };
  Chart.defaults.animation = false;
  function bar(id, labels, datasets, stacked) {
    new Chart(document.getElementById(id), {
      type: 'bar',
      data: { labels: labels, datasets: datasets },
      options: {
        maintainAspectRatio: false,
        scales: { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true } }
      }
    });
  }
  var agents = report.agents, ids = pick(agents, function (a) { return a.agentId; });
  bar('first-response', ids, [
    { label: 'p50', data: pick(agents, function (a) { return seconds(a.firstResponse.p50); }) },
    { label: 'p90', data: pick(agents, function (a) { return seconds(a.firstResponse.p90); }) }
  ], false);
  bar('time-to-close', ids, [
    { label: 'p50', data: pick(agents, function (a) { return minutes(a.timeToClose.p50); }) },
    { label: 'p90', data: pick(agents, function (a) { return minutes(a.timeToClose.p90); }) }
  ], false);
  bar('days', pick(report.days, function (d) { return d.day; }), [
    { label: 'opened', data: pick(report.days, function (d) { return d.opened; }) },
    { label: 'closed', data: pick(report.days, function (d) { return d.closed; }) }
  ], false);
  bar('formats', pick(report.formats, function (f) { return f.format; }), [
    { label: 'from users', data: pick(report.formats, function (f) { return f.user; }) },
    { label: 'from agents', data: pick(report.formats, function (f) { return f.agent; }) }
  ], true);
  var histogram = report.delivery.pushesPerMessage.histogram;
  bar('pushes', pick(histogram, function (h) { return String(h.pushes); }), [
    { label: 'deliveries', data: pick(histogram, function (h) { return h.deliveries; }) }
  ], false);
  var ack = report.delivery.ackLatency;
  bar('ack-latency', ['p50', 'p90', 'p99', 'max'], [
    { label: 'seconds', data: [ack.p50, ack.p90, ack.p99, ack.max].map(seconds) }
  ], false);
  var unacked = report.delivery.unacknowledged;
  bar('unacknowledged', pick(unacked, function (u) { return u.recipientRole; }), [
    { label: 'abandoned', data: pick(unacked, function (u) { return u.abandoned; }) },
    { label: 'still pending', data: pick(unacked, function (u) { return u.pending; }) }
  ], true);
})();
`

/** Script text that cannot end its own element early (`</script` only occurs in strings). */
function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1')
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
}
