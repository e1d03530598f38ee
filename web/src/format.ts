// Numbers and times as the charts and the tooltip show them.

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(3);
  return Number(v.toPrecision(5)).toString();
}

export function formatDuration(seconds: number): string {
  const s = Math.abs(seconds);
  const sign = seconds < 0 ? "-" : "";
  if (s === 0) return "0s";
  if (s < 1) return `${sign}${Number((s * 1000).toPrecision(3))}ms`;
  if (s < 60) return `${sign}${Number(s.toPrecision(3))}s`;
  if (s < 3600) return `${sign}${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
  if (s < 86400) return `${sign}${Math.floor(s / 3600)}h${Math.round((s % 3600) / 60)}m`;
  return `${sign}${Math.floor(s / 86400)}d${Math.round((s % 86400) / 3600)}h`;
}

export function formatWall(seconds: number): string {
  const d = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

export function formatStep(step: number): string {
  return Number.isInteger(step) ? step.toLocaleString("en-US") : step.toFixed(1);
}
