import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';
import { chartDir } from './paths.js';

// The PromQL in labelloop's Grafana dashboard and alert rules: parsed with Prometheus' own lezer
// grammar, and the metric names each expression selects.

export interface Query {
  /** Where it comes from: dashboard panel title or rule name. */
  source: string;
  expr: string;
}

/** Grafana's variables, replaced by values PromQL accepts before parsing. */
const GRAFANA_VARIABLES: Array<[RegExp, string]> = [
  [/\$__rate_interval|\$\{__rate_interval\}/g, '5m'],
  [/\$__interval|\$\{__interval\}/g, '1m'],
  [/\$__range|\$\{__range\}/g, '1h'],
  [/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, '.*'],
];

export function withGrafanaVariablesReplaced(expr: string): string {
  return GRAFANA_VARIABLES.reduce((text, [pattern, value]) => text.replace(pattern, value), expr);
}

export interface ParsedQuery {
  /** Offsets of syntax errors (empty: the expression parses). */
  errors: number[];
  /** Metric names of its vector selectors. */
  metrics: string[];
}

export function parsePromQL(expr: string): ParsedQuery {
  const errors: number[] = [];
  const metrics = new Set<string>();
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') metrics.add(expr.slice(node.from, node.to));
    },
  });
  return { errors, metrics: [...metrics] };
}

interface Panel {
  title?: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: Array<{ name: string; type: string; definition?: string; query?: unknown }> };
}

export const dashboardPath = join(chartDir, 'files/dashboards/labelloop.json');
export const rulesPath = join(chartDir, 'files/alerts/labelloop.rules.yaml');

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(dashboardPath, 'utf8')) as Dashboard;
}

/** Every PromQL expression of the dashboard: panel targets (rows included) and query variables. */
export function dashboardQueries(dashboard: Dashboard): Query[] {
  const queries: Query[] = [];
  const visit = (panels: Panel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr) queries.push({ source: `panel "${panel.title}"`, expr: withGrafanaVariablesReplaced(target.expr) });
      }
      visit(panel.panels ?? []);
    }
  };
  visit(dashboard.panels);
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query' || !variable.definition) continue;
    // label_values(<selector>, <label>): Grafana's, not PromQL; its selector is.
    const match = /^label_values\((.+),\s*[A-Za-z_][A-Za-z0-9_]*\)$/.exec(variable.definition.trim());
    queries.push({ source: `variable $${variable.name}`, expr: withGrafanaVariablesReplaced(match ? match[1]! : variable.definition) });
  }
  return queries;
}

export interface RuleGroup {
  name: string;
  rules: Array<{ alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }>;
}

export function readRuleGroups(): RuleGroup[] {
  return (parse(readFileSync(rulesPath, 'utf8')) as { groups: RuleGroup[] }).groups;
}

export function ruleQueries(groups: RuleGroup[]): Query[] {
  return groups.flatMap((group) =>
    group.rules.map((rule) => ({ source: `rule ${rule.alert ?? rule.record}`, expr: String(rule.expr) })),
  );
}

/** Recording rules' names: metrics the rules make rather than the services. */
export function recordedNames(groups: RuleGroup[]): Set<string> {
  return new Set(groups.flatMap((group) => group.rules.flatMap((rule) => (rule.record ? [rule.record] : []))));
}
