// Tiny canvas charts: lines, bars and grouped histograms. No dependencies.

const FONT = "12px system-ui, sans-serif";
export const COLORS = ["#e8590c", "#1c7ed6", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#e03131", "#5c940d", "#343a40"];

function frame(canvas, { yMax, yLabel, xLabel, yFormat }) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  ctx.font = FONT;
  const pad = { l: 48, r: 12, t: 12, b: 28 };
  ctx.strokeStyle = "#dfe3ec";
  ctx.fillStyle = "#5b6476";
  for (let i = 0; i <= 4; i++) {
    const y = pad.t + ((h - pad.t - pad.b) * i) / 4;
    ctx.beginPath();
    ctx.moveTo(pad.l, y);
    ctx.lineTo(w - pad.r, y);
    ctx.stroke();
    ctx.fillText(yFormat(yMax * (1 - i / 4)), 4, y + 4);
  }
  if (xLabel) ctx.fillText(xLabel, pad.l, h - 8);
  if (yLabel) ctx.fillText(yLabel, w - pad.r - ctx.measureText(yLabel).width, h - 8);
  return { ctx, pad, w, h };
}

/** series: [{ name, color, points: [[x, y]] }] */
export function lineChart(canvas, series, { xMax, yMax = 1, xLabel = "", yLabel = "", yFormat = (v) => v.toFixed(2) } = {}) {
  const { ctx, pad, w, h } = frame(canvas, { yMax, yLabel, xLabel, yFormat });
  const X = (x) => pad.l + ((w - pad.l - pad.r) * x) / (xMax || 1);
  const Y = (y) => h - pad.b - ((h - pad.t - pad.b) * Math.min(y, yMax)) / yMax;
  series.forEach((s, i) => {
    ctx.strokeStyle = s.color ?? COLORS[i % COLORS.length];
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    s.points.forEach(([x, y], j) => (j ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
    ctx.stroke();
  });
  // legend
  let lx = pad.l + 6, ly = pad.t + 12;
  series.forEach((s, i) => {
    const label = s.name;
    const width = ctx.measureText(label).width + 22;
    if (lx + width > w - pad.r) {
      lx = pad.l + 6;
      ly += 15;
    }
    ctx.fillStyle = s.color ?? COLORS[i % COLORS.length];
    ctx.fillRect(lx, ly - 8, 10, 3);
    ctx.fillStyle = "#1d2330";
    ctx.fillText(label, lx + 14, ly - 3);
    lx += width;
  });
}

/** bars: [{ name, value, color }] */
export function barChart(canvas, bars, { yMax = 1, yFormat = (v) => v.toFixed(2), valueFormat = yFormat } = {}) {
  const { ctx, pad, w, h } = frame(canvas, { yMax, yFormat });
  const slot = (w - pad.l - pad.r) / Math.max(1, bars.length);
  bars.forEach((b, i) => {
    const bh = ((h - pad.t - pad.b) * Math.min(b.value, yMax)) / yMax;
    const x = pad.l + i * slot + slot * 0.15;
    ctx.fillStyle = b.color ?? COLORS[i % COLORS.length];
    ctx.fillRect(x, h - pad.b - bh, slot * 0.7, bh);
    ctx.fillStyle = "#1d2330";
    ctx.save();
    ctx.translate(x + slot * 0.35, h - pad.b - bh - 4);
    ctx.fillText(valueFormat(b.value), -ctx.measureText(valueFormat(b.value)).width / 2, 0);
    ctx.restore();
    ctx.save();
    ctx.translate(x + 2, h - 4);
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillText(b.name.replace("allkeys-", "all-").replace("volatile-", "vol-"), 0, 0);
    ctx.restore();
  });
}
