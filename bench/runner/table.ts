// Aggregating rounds and printing the table (Markdown, padded so it also reads in a terminal).
import type { Cell, Results, Row, Unit } from "./benchmarks.ts";
import type { PeerName } from "./peers.ts";

export type Statistic = "median" | "best";

export function aggregate(values: number[], statistic: Statistic, higherIsBetter: boolean): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (statistic === "best") return higherIsBetter ? sorted[sorted.length - 1] : sorted[0];
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function significant(value: number): string {
  if (value === 0) return "0";
  if (Math.abs(value) < 0.1) return value.toPrecision(2);
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function formatValue(value: number, unit: Unit): string {
  if (unit === "ns") {
    if (value < 1_000) return `${significant(value)} ns`;
    if (value < 1_000_000) return `${significant(value / 1_000)} us`;
    return `${significant(value / 1_000_000)} ms`;
  }
  return `${significant(value)} ${unit}`;
}

export interface TableInput {
  rows: Row[];
  peers: PeerName[];
  results: Results;
  statistic: Statistic;
}

export interface Table {
  markdown: string;
  footnotes: string[];
}

/**
 * Ratios compare cordon (trap, or ptrace when trap has no figure) with runsc and with native as
 * a cost: time over time, or for throughput the inverse, so above 1 means cordon is slower.
 */
export function renderTable(input: TableInput): Table {
  const footnotes: string[] = [];
  const noteFor = (reason: string) => {
    let index = footnotes.indexOf(reason);
    if (index < 0) index = footnotes.push(reason) - 1;
    return `[${index + 1}]`;
  };
  const header = ["benchmark", ...input.peers, "cordon/runsc", "cordon/native"];
  const lines: string[][] = [];
  for (const row of input.rows) {
    const byPeer = input.results.get(row.id);
    const figure = (peer: PeerName): number | undefined => {
      const c = byPeer?.get(peer);
      return c && !c.error && c.values.length
        ? aggregate(c.values, input.statistic, row.higherIsBetter)
        : undefined;
    };
    const cells = input.peers.map((peer) =>
      renderCell(
        byPeer?.get(peer),
        figure(peer),
        row.unit,
        (reason) => noteFor(`${peer}: ${reason}`),
      )
    );
    let cordon = figure("cordon-trap");
    let marker = "";
    if (cordon === undefined && figure("cordon-ptrace") !== undefined) {
      cordon = figure("cordon-ptrace");
      marker = " (ptrace)";
    }
    const ratio = (peer: PeerName) => {
      const other = figure(peer);
      if (cordon === undefined || other === undefined || other === 0 || cordon === 0) return "n/a";
      const cost = row.higherIsBetter ? other / cordon : cordon / other;
      return `${significant(cost)}x${marker}`;
    };
    lines.push([row.label, ...cells, ratio("runsc"), ratio("native")]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cols: string[]) =>
    "| " + cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ") +
    " |";
  const separator = "|" +
    widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|";
  const markdown = [format(header), separator, ...lines.map(format)].join("\n");
  return { markdown, footnotes };
}

function renderCell(
  c: Cell | undefined,
  value: number | undefined,
  unit: Unit,
  noteFor: (reason: string) => string,
): string {
  if (!c) return "";
  if (c.notApplicable) return "-";
  if (c.error) return `n/a${noteFor(c.error)}`;
  if (value === undefined) return "n/a";
  return formatValue(value, unit);
}
