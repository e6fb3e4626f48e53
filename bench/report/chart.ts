/**
 * The results as an SVG bar chart, written by hand (no dependency): one panel
 * per section that ran, each bar labelled with its value, the target drawn
 * as a dashed line.
 */
import type { GuardData } from '../sections/guard.js';
import { GUARD_TARGETS } from '../sections/guard.js';
import type { LoginData } from '../sections/login.js';
import { LOGIN_TARGET } from '../sections/login.js';
import type { MemoryData } from '../sections/memory.js';
import { MEMORY_TARGET } from '../sections/memory.js';
import type { RedisCostData } from '../sections/redis-cost.js';
import type { RefreshData } from '../sections/refresh.js';
import { REFRESH_TARGETS } from '../sections/refresh.js';
import { fixed, whole } from '../stats.js';

export interface ChartInput {
  guard?: GuardData;
  refresh?: RefreshData;
  memory?: MemoryData;
  redis?: RedisCostData;
  login?: LoginData;
  /** Lines under the title: machine, settings, date. */
  caption: string[];
}

interface Bar {
  label: string;
  value: number;
  text: string;
  color: string;
}

interface Panel {
  title: string;
  bars: Bar[];
  target?: { value: number; label: string };
}

const WIDTH = 960;
const LABEL = 290;
const VALUE_TEXT = 110;
const BAR_AREA = WIDTH - LABEL - VALUE_TEXT - 20;
const BAR = 18;
const GAP = 6;

const COLORS = {
  ours: '#2563eb',
  bare: '#6b7280',
  'express-jwt': '#d97706',
  'passport-jwt': '#059669',
  other: '#7c3aed',
} as const;

function colorOf(label: string): string {
  if (label.startsWith('requireAccessToken') || label.startsWith('refreshHandler')) return COLORS.ours;
  if (label.startsWith('bare')) return COLORS.bare;
  if (label.startsWith('express-jwt')) return COLORS['express-jwt'];
  if (label.startsWith('passport-jwt')) return COLORS['passport-jwt'];
  return COLORS.other;
}

const xml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function panels(input: ChartInput): Panel[] {
  const out: Panel[] = [];
  const { guard, refresh, memory, redis, login } = input;
  if (guard) {
    out.push({
      title: `Guarded GET /me: req/s as a share of bare Express (median of ${guard.rounds} rounds)`,
      bars: guard.contenders.map((c) => ({
        label: c.name,
        value: c.ratioToBare,
        text: `${fixed(c.ratioToBare, 3)} (${whole(c.summary.rps)}/s)`,
        color: colorOf(c.name),
      })),
      target: { value: GUARD_TARGETS.ratioToBare, label: `target ${fixed(GUARD_TARGETS.ratioToBare, 2)} (HS256)` },
    });
  }
  if (refresh) {
    out.push({
      title: 'POST /auth/refresh with Redis: req/s as a share of a bare Express POST',
      bars: [
        { label: 'bare Express POST', value: 1, text: `1.00 (${whole(refresh.bare.rps)}/s)`, color: COLORS.bare },
        {
          label: 'refreshHandler + Redis',
          value: refresh.ratioToBare,
          text: `${fixed(refresh.ratioToBare, 3)} (${whole(refresh.refresh.rps)}/s)`,
          color: COLORS.ours,
        },
      ],
      target: { value: REFRESH_TARGETS.ratioToBare, label: `target ${fixed(REFRESH_TARGETS.ratioToBare, 2)}` },
    });
  }
  if (memory) {
    out.push({
      title: 'Redis bytes per session (used_memory delta / sessions)',
      bars: memory.variants.map((v) => ({
        label: v.name,
        value: v.bytesPerSession,
        text: `${fixed(v.bytesPerSession, 0)} B`,
        color: COLORS.ours,
      })),
      target: { value: MEMORY_TARGET, label: `target ${MEMORY_TARGET} B` },
    });
  }
  if (redis) {
    out.push({
      title: 'Redis time per refresh (EVALSHA usec_per_call), by sessions per user and user agent',
      bars: redis.cells.map((c) => ({
        label: c.name,
        value: c.refresh.usecPerRefresh,
        text: `${fixed(c.refresh.usecPerRefresh, 1)} us`,
        color: COLORS.ours,
      })),
    });
  }
  if (login) {
    out.push({
      title: `GET /health p99 (ms), at rest and during a login storm (bcrypt cost ${login.bcryptCost})`,
      bars: [
        {
          label: 'at rest',
          value: login.healthIdle.p99,
          text: `${fixed(login.healthIdle.p99, 1)} ms`,
          color: COLORS.bare,
        },
        {
          label: 'during the login storm',
          value: login.healthDuringStorm.p99,
          text: `${fixed(login.healthDuringStorm.p99, 1)} ms`,
          color: COLORS.ours,
        },
      ],
      target: { value: LOGIN_TARGET.healthP99Ms, label: `target <= ${LOGIN_TARGET.healthP99Ms} ms` },
    });
  }
  return out;
}

function drawPanel(panel: Panel, top: number): { svg: string; height: number } {
  const max = Math.max(...panel.bars.map((b) => b.value), panel.target?.value ?? 0) * 1.05 || 1;
  const scale = (v: number): number => (Math.max(0, v) / max) * BAR_AREA;
  const parts = [`<text x="10" y="${top + 16}" class="title">${xml(panel.title)}</text>`];
  const bottom = top + 28 + panel.bars.length * (BAR + GAP);
  if (panel.target) {
    // Drawn first, so that bars and their values sit on top of it.
    const x = fixed(LABEL + scale(panel.target.value), 1);
    parts.push(
      `<line x1="${x}" y1="${top + 24}" x2="${x}" y2="${bottom}" class="target"/>`,
      `<text x="${x}" y="${bottom + 12}" class="note" text-anchor="middle">${xml(panel.target.label)}</text>`,
    );
  }
  let y = top + 28;
  for (const bar of panel.bars) {
    const width = scale(bar.value);
    parts.push(
      `<text x="${LABEL - 8}" y="${y + 13}" class="label" text-anchor="end">${xml(bar.label)}</text>`,
      `<rect x="${LABEL}" y="${y}" width="${fixed(width, 1)}" height="${BAR}" fill="${bar.color}" rx="2"/>`,
      `<text x="${fixed(LABEL + width + 6, 1)}" y="${y + 13}" class="value">${xml(bar.text)}</text>`,
    );
    y += BAR + GAP;
  }
  if (panel.target) y += 14;
  return { svg: parts.join('\n'), height: y - top + 18 };
}

export function renderChart(input: ChartInput): string {
  let y = 30 + input.caption.length * 14;
  const drawn: string[] = [];
  for (const panel of panels(input)) {
    const { svg, height } = drawPanel(panel, y);
    drawn.push(svg);
    y += height;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>.title{font-size:14px;font-weight:bold;fill:#111}.label{font-size:12px;fill:#222}.value{font-size:12px;fill:#222;paint-order:stroke;stroke:#fff;stroke-width:3px}' +
      '.note{font-size:11px;fill:#b91c1c}.target{stroke:#b91c1c;stroke-width:1.5;stroke-dasharray:5 4}.caption{font-size:11px;fill:#555}</style>',
    `<rect width="${WIDTH}" height="${y}" fill="#fff"/>`,
    '<text x="10" y="20" class="title">express-token-pair benchmark</text>',
    ...input.caption.map((line, i) => `<text x="10" y="${36 + i * 14}" class="caption">${xml(line)}</text>`),
    ...drawn,
    '</svg>',
    '',
  ].join('\n');
}
