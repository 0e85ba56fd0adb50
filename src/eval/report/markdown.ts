/**
 * `report.md`: the run's tables in Markdown (for a pull request comment or a CI summary). Every text the
 * report does not write itself — names, dataset text, answers, the judge's reasoning — goes through
 * `markdown-text.ts`, so it shows as text and never becomes HTML or Markdown structure.
 */

import { gateFailureText } from '../summary.js';
import { mdCode, mdLines, mdText } from './markdown-text.js';
import { fmt, fmtP, fmtUsd, metricDigits, type ReportModel } from './model.js';

export function renderMarkdown(model: ReportModel): string {
  const { run } = model;
  const out: string[] = [
    `# Evaluation report — ${mdText(run.run_id)}`,
    '',
    `- Dataset: ${mdCode(run.dataset)} (${run.items} items, sha256 \`${run.dataset_sha256.slice(0, 12)}\`)`,
    `- Targets: ${run.targets.map((t) => mdCode(t)).join(', ')}`,
    `- Judge: ${run.judge ? `${mdCode(run.judge)} (${mdText(run.judge_prompts.join(', '))})` : 'none'}`,
    `- Gateway: ${mdText(run.gateway)}`,
    `- Started ${mdText(run.started_at)}${run.finished_at ? `, finished ${mdText(run.finished_at)}` : ''}`,
    '',
    '## Summary',
    '',
  ];
  const metrics = [...new Set(model.summaries.flatMap((s) => s.metrics.map((m) => m.metric)))];
  out.push(
    `| target | items | errors | ${metrics.join(' | ')} | total cost | judge cost (total) | TTFT p50 (ms) |`,
    `|---|---:|---:|${metrics.map(() => '---:').join('|')}|---:|---:|---:|`,
  );
  for (const s of model.summaries) {
    const cells = metrics.map((id) => {
      const m = s.metrics.find((x) => x.metric === id);
      if (!m) return '–';
      const unscored = m.unscored > 0 ? ` (${m.unscored} unscored)` : '';
      return `${fmt(m.mean, metricDigits(id))} n=${m.n}${unscored}`;
    });
    out.push(
      `| ${mdCode(s.target, true)} | ${s.items} | ${s.errors} | ${cells.join(' | ')} | ${fmtUsd(s.cost_usd)} | ${fmtUsd(s.judge_cost_usd)} | ${fmt(s.ttft_p50_ms, 0)} |`,
    );
  }
  out.push('', 'Means over the items scored; `latency_ms` is the total time of the streamed answer.', '');
  for (const c of model.comparisons) {
    out.push(
      `## ${mdCode(c.target)} vs ${mdCode(c.baseline)}`,
      '',
      '| metric | baseline | target | Δ (target − baseline) | 95 % CI of Δ | p (paired bootstrap) | n |',
      '|---|---:|---:|---:|---|---:|---:|',
    );
    for (const m of c.metrics) {
      const d = metricDigits(m.metric);
      out.push(
        `| ${m.metric} | ${fmt(m.a, d)} | ${fmt(m.b, d)} | ${m.test.delta >= 0 ? '+' : ''}${fmt(m.test.delta, d)} | [${fmt(m.test.ci[0], d)}, ${fmt(m.test.ci[1], d)}] | ${fmtP(m.test.p)} | ${m.test.n} |`,
      );
    }
    out.push('');
  }
  if (model.gates) {
    out.push('## Gates', '');
    if (model.gates.failures.length === 0) out.push(`All ${model.gates.checked} gate(s) passed.`, '');
    for (const f of model.gates.failures) {
      out.push(
        `- ✗ ${mdCode(f.target)}: ${gateFailureText(f, (s) => fmt(s.actual, metricDigits(s.gate.metric)))}`,
      );
    }
    out.push('');
  }
  if (model.weakest.length > 0) {
    out.push('## Least faithful answers', '');
    for (const r of model.weakest) {
      const verdict = r.judge.faithfulness;
      out.push(
        `### ${mdText(r.item_id)} · ${mdCode(r.target)} · faithfulness ${fmt(r.scores.faithfulness)}`,
        '',
        `**Q:** ${mdLines(r.question).join('\n')}`,
        '',
        `**A:** ${mdLines(r.answer).join('\n')}`,
        '',
        `Judge (${mdText(verdict?.prompt ?? '?')}):`,
        '',
        ...mdLines(verdict?.reasoning ?? '').map((l) => `> ${l}`),
        '',
      );
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}
