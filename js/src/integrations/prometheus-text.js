// A registry that writes the Prometheus text exposition format (0.0.4) by
// itself, for places prom-client does not go (browsers, Workers): register()
// from edgecache/prometheus fills it with the same metric objects it gives a
// prom-client Registry, so both print the same names, help, types and values.

/** The Content-Type of the text format. */
export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * A registry with the two methods register() calls and `metrics()`, the
 * text of every metric registered on it (HELP, TYPE, one sample a label set;
 * metrics separated by a blank line, as prom-client writes them).
 */
export function textRegistry() {
  const metrics = new Map();
  return {
    contentType: TEXT_CONTENT_TYPE,
    registerMetric(metric) {
      if (metrics.has(metric.name) && metrics.get(metric.name) !== metric) {
        throw new Error(`textRegistry: a metric named ${metric.name} is already registered`);
      }
      metrics.set(metric.name, metric);
    },
    getSingleMetric(name) {
      return metrics.get(name);
    },
    async metrics() {
      const blocks = [];
      for (const metric of metrics.values()) blocks.push(formatMetric(await metric.get()));
      return `${blocks.join("\n\n")}\n`;
    },
  };
}

function formatMetric({ name, help, type, values = [] }) {
  const lines = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`];
  for (const { labels = {}, value } of values) {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`);
    lines.push(`${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}`);
  }
  return lines.join("\n");
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(s) {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Label values also escape the double quote. */
function escapeLabel(s) {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(v) {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
