/**
 * `report.html`: one self-contained file (inline CSS and SVG, no script, no external asset) with the run's
 * header, the summary table, score distributions per target, cost against quality, latency, the paired
 * comparisons with the first target, the gates, and the least faithful answers with the judge's reasons.
 */

import { gateFailureText } from '../summary.js';
import { fmt, fmtP, fmtUsd, metricDigits, type ReportModel } from './model.js';
import { colourOf, costQualitySvg, distributionSvg, esc } from './svg.js';

const CSS = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#111827;margin:24px auto;max-width:1000px;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left;white-space:nowrap}th{background:#f9fafb}code{font-size:13px}.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.meta{color:#4b5563}.fail{color:#b91c1c}.pass{color:#047857}blockquote{white-space:pre-wrap;color:#374151;border-left:3px solid #d1d5db;margin:4px 0;padding-left:10px}
.plots{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}.wide{overflow-x:auto}table{font-size:13px}figcaption{font-weight:600;margin:6px 0}`;

export function renderHtml(model: ReportModel): string {
  const { run } = model;
  const metrics = [...new Set(model.summaries.flatMap((s) => s.metrics.map((m) => m.metric)))];
  const quality = metrics.filter((m) => m !== 'latency_ms' && m !== 'cost_usd');
  const body: string[] = [
    `<h1>Evaluation report — <code>${esc(run.run_id)}</code></h1>`,
    `<p class="meta">Dataset <code>${esc(run.dataset)}</code> · ${run.items} items · judge ${run.judge ? `<code>${esc(run.judge)}</code> (${esc(run.judge_prompts.join(', '))})` : 'none'} · gateway ${esc(run.gateway)} · started ${esc(run.started_at)}${run.finished_at ? ` · finished ${esc(run.finished_at)}` : ''}</p>`,
    '<h2>Summary</h2>',
    summaryTable(model, metrics),
    '<p class="meta">Means over the items scored, with the 95 % bootstrap interval on hover; <code>latency_ms</code> is the total time of the streamed answer.</p>',
    '<h2>Score distributions per target</h2><div class="plots">',
    ...quality.map((m) => `<figure><figcaption>${esc(m)}</figcaption>${distributionSvg(model, m)}</figure>`),
    '</div>',
    '<h2>Cost against quality</h2>',
    `<figure>${costQualitySvg(model)}<figcaption class="meta">Quality: the mean of each target's quality-metric means.</figcaption></figure>`,
    '<h2>Latency</h2><div class="plots">',
    `<figure><figcaption>time to first token (ms)</figcaption>${distributionSvg(model, 'ttft_ms', (r) => r.ttft_ms)}</figure>`,
    `<figure><figcaption>total (ms)</figcaption>${distributionSvg(model, 'latency_ms')}</figure>`,
    '</div>',
    latencyTable(model),
  ];
  for (const c of model.comparisons) {
    body.push(
      `<h2><code>${esc(c.target)}</code> vs <code>${esc(c.baseline)}</code></h2>`,
      '<table><tr><th>metric</th><th>baseline</th><th>target</th><th>Δ</th><th>95 % CI of Δ</th><th>p (paired bootstrap)</th><th>n</th></tr>',
      ...c.metrics.map((m) => {
        const d = metricDigits(m.metric);
        return `<tr><td>${esc(m.metric)}</td><td>${fmt(m.a, d)}</td><td>${fmt(m.b, d)}</td><td>${m.test.delta >= 0 ? '+' : ''}${fmt(m.test.delta, d)}</td><td>[${fmt(m.test.ci[0], d)}, ${fmt(m.test.ci[1], d)}]</td><td>${fmtP(m.test.p)}</td><td>${m.test.n}</td></tr>`;
      }),
      '</table>',
    );
  }
  if (model.gates) {
    body.push('<h2>Gates</h2>');
    if (model.gates.failures.length === 0) {
      body.push(`<p class="pass">All ${model.gates.checked} gate(s) passed.</p>`);
    }
    for (const f of model.gates.failures) {
      body.push(
        `<p class="fail">✗ <code>${esc(f.target)}</code>: ${esc(gateFailureText(f, (s) => fmt(s.actual, metricDigits(s.gate.metric))))}</p>`,
      );
    }
  }
  if (model.weakest.length > 0) {
    body.push('<h2>Least faithful answers</h2>');
    for (const r of model.weakest) {
      const v = r.judge.faithfulness;
      body.push(
        `<h3>${esc(r.item_id)} · <code>${esc(r.target)}</code> · faithfulness ${fmt(r.scores.faithfulness)}</h3>`,
        `<p><b>Q:</b> ${esc(r.question)}</p><p><b>A:</b> ${esc(r.answer)}</p>`,
        `<p class="meta">Judge ${esc(v?.prompt ?? '?')}:</p><blockquote>${esc(v?.reasoning ?? '')}</blockquote>`,
      );
    }
  }
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Evaluation report — ${esc(run.run_id)}</title><style>${CSS}</style></head><body>\n${body.join('\n')}\n</body></html>\n`;
}

function summaryTable(model: ReportModel, metrics: string[]): string {
  const rows = model.summaries.map((s, i) => {
    const cells = metrics.map((id) => {
      const m = s.metrics.find((x) => x.metric === id);
      if (!m) return '<td>–</td>';
      const d = metricDigits(id);
      const tip = `n=${m.n}, 95% CI [${fmt(m.ci[0], d)}, ${fmt(m.ci[1], d)}]${m.unscored ? `, ${m.unscored} unscored` : ''}`;
      return `<td title="${esc(tip)}">${fmt(m.mean, d)}${m.unscored ? ` <small>(${m.unscored} unscored)</small>` : ''}</td>`;
    });
    return `<tr><td><span class="swatch" style="background:${colourOf(i)}"></span><code>${esc(s.target)}</code></td><td>${s.items}</td><td>${s.errors}</td>${cells.join('')}<td>${fmtUsd(s.cost_usd)}</td><td>${fmtUsd(s.judge_cost_usd)}</td></tr>`;
  });
  return `<div class="wide"><table><tr><th>target</th><th>items</th><th>errors</th>${metrics.map((m) => `<th>${esc(m).replaceAll('_', '_<wbr>')}</th>`).join('')}<th>total cost</th><th>judge cost (total)</th></tr>${rows.join('')}</table></div>`;
}

function latencyTable(model: ReportModel): string {
  const rows = model.summaries.map((s) => {
    const lat = s.metrics.find((m) => m.metric === 'latency_ms');
    return `<tr><td><code>${esc(s.target)}</code></td><td>${fmt(s.ttft_p50_ms, 0)}</td><td>${fmt(lat?.p50, 0)}</td><td>${fmt(lat?.p95, 0)}</td></tr>`;
  });
  return `<table><tr><th>target</th><th>TTFT p50 (ms)</th><th>total p50 (ms)</th><th>total p95 (ms)</th></tr>${rows.join('')}</table>`;
}
