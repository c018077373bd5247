import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

// Reading what a running labelloop exports: the ports a service process listens on (from /proc,
// so nothing about the launcher's port choice needs to be known) and the metric families of a
// Prometheus text exposition.

/** TCP ports the process `pid` listens on (Linux /proc). */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address rem_address st ... inode; st 0A = LISTEN
      if (fields.length < 10 || fields[3] !== '0A' || !inodes.has(fields[9]!)) continue;
      ports.add(parseInt(fields[1]!.split(':')[1]!, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

export interface MetricFamily {
  name: string;
  type: string;
  /** Sample names it yields: the family name, or _bucket/_sum/_count (histograms), _sum/_count (summaries). */
  sampleNames: string[];
  /** Label names seen on its samples (the parser keeps those of counters, gauges and untyped). */
  labels: Set<string>;
}

interface ParsedFamily {
  name: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string> }>;
}

/**
 * Families of a Prometheus text exposition. prom-client writes # HELP / # TYPE for every
 * registered metric, so a family is there before its first sample.
 */
export function metricFamilies(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  for (const family of parsePrometheusTextFormat(text) as ParsedFamily[]) {
    const type = family.type.toLowerCase();
    const suffixes = type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['', '_sum', '_count'] : [''];
    const labels = new Set(family.metrics.flatMap((metric) => Object.keys(metric.labels ?? {})));
    families.set(family.name, { name: family.name, type, sampleNames: suffixes.map((suffix) => family.name + suffix), labels });
  }
  return families;
}

/** Every sample name the families can yield. */
export function sampleNames(families: Iterable<MetricFamily>): Set<string> {
  return new Set([...families].flatMap((family) => family.sampleNames));
}
