/**
 * `npm run bench [-- section... --flags]`: runs the sections, prints each
 * section's tables and then every target beside its measured figure, and
 * writes latest.json and chart.svg. A full run (every section, no --quick,
 * --profile or --scratch) writes them to bench/results/ and rewrites the
 * results block of bench/README.md; any other run writes to .tmp/bench-results/.
 * See bench/README.md for what each section measures.
 */
import { fileURLToPath } from 'node:url';
import { describeMachine, loadAverage, type Machine } from './machine.js';
import { parseOptions, USAGE, type BenchOptions, type Section } from './options.js';
import { cleanupAll, profileServersInto } from './processes.js';
import { renderChart } from './report/chart.js';
import { PARTIAL_RESULTS_DIR, RESULTS_DIR, updateReadme, writeResults } from './report/files.js';
import type { Row } from './report/rows.js';
import type { SectionOutput } from './report/section-output.js';
import { renderMarkdown, renderText, targetsTable, type Table } from './report/table.js';
import { guardSection, type GuardData } from './sections/guard.js';
import { loginSection, type LoginData } from './sections/login.js';
import { memorySection, type MemoryData } from './sections/memory.js';
import { redisCostSection, type RedisCostData } from './sections/redis-cost.js';
import { refreshSection, type RefreshData } from './sections/refresh.js';

const PROFILE_DIR = fileURLToPath(new URL('../.tmp/bench-profiles/', import.meta.url));

interface SectionData {
  guard: GuardData;
  refresh: RefreshData;
  memory: MemoryData;
  redis: RedisCostData;
  login: LoginData;
}

const runners: { [S in Section]: (options: BenchOptions) => Promise<SectionOutput<SectionData[S]>> } = {
  guard: guardSection,
  refresh: refreshSection,
  memory: memorySection,
  redis: redisCostSection,
  login: loginSection,
};

function machineLine(machine: Machine): string {
  return `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.os}; Node ${machine.node}; Redis ${machine.redis}`;
}

function settingsLine(options: BenchOptions): string {
  return (
    `${options.rounds} rounds x ${options.duration} s after ${options.warmup} s warm-up, ${options.connections} connections` +
    (options.quick ? ' (--quick)' : '')
  );
}

function markdownReport(machine: Machine, options: BenchOptions, ranAt: Date, tables: Table[], targets: Row[]): string {
  return [
    `Run of ${ranAt.toISOString().slice(0, 16).replace('T', ' ')} UTC on commit ${machine.commit}: \`npm run bench\`` +
      ` (${settingsLine(options)}).`,
    '',
    `Machine: ${machineLine(machine)}; load average ${machine.loadAverage} at the start.`,
    `Packages: ${Object.entries(machine.packages)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}.`,
    '',
    renderMarkdown(targetsTable(targets)),
    '',
    ...tables.flatMap((table) => [renderMarkdown(table), '']),
    '![Benchmark chart](results/chart.svg)',
  ].join('\n');
}

/** The options, or undefined after printing why they are wrong. */
function optionsOrUsage(): BenchOptions | undefined {
  try {
    const options = parseOptions(process.argv.slice(2));
    if (!options) process.stdout.write(USAGE);
    return options;
  } catch (error) {
    // A mistyped flag: say which, not where in the code.
    console.error(
      `${error instanceof Error ? error.message : String(error)}\n(npm run bench -- --help lists the flags)`,
    );
    process.exitCode = 2;
    return undefined;
  }
}

async function main(): Promise<void> {
  const options = optionsOrUsage();
  if (!options) return;
  if (options.profile) profileServersInto(PROFILE_DIR);
  const machine = describeMachine();
  const ranAt = new Date();
  console.log(`express-token-pair bench: ${options.sections.join(', ')}`);
  console.log(`machine: ${machineLine(machine)}; load average ${machine.loadAverage}; commit ${machine.commit}`);
  console.log(`settings: ${settingsLine(options)}`);
  if (machine.loadAverage > machine.cores / 2) {
    console.log(
      `WARNING: load average ${machine.loadAverage} on ${machine.cores} cores: something else is running; figures will be lower and noisier.`,
    );
  }
  console.log('');

  const data: Partial<SectionData> = {};
  const tables: Table[] = [];
  const targets: Row[] = [];
  for (const section of options.sections) {
    const started = performance.now();
    const output = await runners[section](options);
    Object.assign(data, { [section]: output.data });
    tables.push(...output.tables);
    targets.push(...output.targets);
    for (const table of output.tables) console.log(`${renderText(table)}\n`);
    process.stderr.write(`${section}: done in ${Math.round((performance.now() - started) / 1000)} s\n`);
  }

  console.log(renderText(targetsTable(targets)));
  const judged = targets.filter((t) => t.pass !== undefined);
  console.log(`\n${judged.filter((t) => t.pass).length} of ${judged.length} targets met.`);

  // Only a full run stands for the package (a profiled one is slowed down): the others go to .tmp/.
  const full =
    options.sections.length === Object.keys(runners).length && !options.quick && !options.profile && !options.scratch;
  const caption = [
    machineLine(machine),
    `${settingsLine(options)}; ${ranAt.toISOString().slice(0, 10)}, commit ${machine.commit}`,
  ];
  const paths = writeResults(
    full ? RESULTS_DIR : PARTIAL_RESULTS_DIR,
    {
      ranAt,
      finishedAt: new Date(),
      argv: process.argv.slice(2),
      options,
      machine,
      loadAverageAtEnd: loadAverage(),
      targets,
      sections: data,
    },
    renderChart({ ...data, caption }),
  );
  console.log(`results: ${paths.json}\nchart:   ${paths.svg}`);
  if (options.profile) console.log(`profiles: ${PROFILE_DIR} (open in Chrome DevTools, Performance tab)`);
  if (full) {
    console.log(
      updateReadme(markdownReport(machine, options, ranAt, tables, targets))
        ? 'bench/README.md: results block updated'
        : 'bench/README.md: no results markers found, not updated',
    );
  }
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
} finally {
  await cleanupAll();
}
