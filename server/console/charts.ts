/**
 * Charts for the console, drawn on the server as SVG by Apache ECharts (its server-side rendering): no chart needs
 * client JavaScript. ECharts is loaded on the first chart, not at start-up. Its output is made to pass a strict
 * content-security policy: inline `style` attributes become SVG presentation attributes and its hover-only
 * `<style>` block is dropped. Every bar carries its number as a label, so no value is told by colour alone.
 */

type ECharts = typeof import('echarts');
let loaded: Promise<ECharts> | undefined;
const echarts = () => (loaded ??= import('echarts'));

/** Dark enough on white for 4.5:1 text and 3:1 graphics. */
const BAR = '#1f5fa8';
const TEXT = '#1d1d1f';
/**
 * Drawn this wide and scaled to the box: near a phone's width, so its labels stay readable there (a wider drawing
 * shrinks them to a few pixels), and larger on a desktop.
 */
const CHART_WIDTH = 380;
const FONT = '"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",sans-serif';

/** Turns style="a:b;c:d" into a="b" c="d" (all ECharts writes there are presentation attributes) and drops <style>. */
export function strictSvg(svg: string, label: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return svg
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/ style="([^"]*)"/g, (_m, css: string) =>
      css
        .split(';')
        .map((d) => d.trim())
        .filter(Boolean)
        .map((d) => {
          const i = d.indexOf(':');
          const name = d.slice(0, i).trim();
          const value = d.slice(i + 1).trim();
          return /^[a-z-]+$/.test(name) ? ` ${name}="${value.replace(/"/g, "'")}"` : '';
        })
        .join(''),
    )
    .replace(/^<svg width="(\d+)" height="(\d+)"/, `<svg role="img" aria-label="${esc(label)}" class="chart" preserveAspectRatio="xMinYMin meet"`);
}

async function render(option: Record<string, unknown>, width: number, height: number, label: string): Promise<string> {
  const e = await echarts();
  const chart = e.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, textStyle: { fontFamily: FONT, color: TEXT, fontSize: 14 }, ...option });
    return strictSvg(chart.renderToSVGString(), label);
  } finally {
    chart.dispose();
  }
}

/** New leads per week: a column per week, its count on top. */
export function weeklyChart(weeks: Array<{ label: string; n: number }>, label: string): Promise<string> {
  return render(
    {
      grid: { left: 32, right: 8, top: 24, bottom: 30 },
      xAxis: { type: 'category', data: weeks.map((w) => w.label), axisLabel: { color: TEXT, fontSize: 13, interval: 1 }, axisLine: { lineStyle: { color: '#54555a' } } },
      yAxis: { type: 'value', minInterval: 1, axisLabel: { color: TEXT, fontSize: 13 } },
      series: [{ type: 'bar', data: weeks.map((w) => w.n), itemStyle: { color: BAR }, label: { show: true, position: 'top', color: TEXT, fontSize: 13 }, emphasis: { disabled: true } }],
    },
    CHART_WIDTH,
    240,
    label,
  );
}

/** Leads by hardship: a horizontal bar per hardship, its count at its end. */
export function hardshipChart(rows: Array<{ label: string; n: number }>, label: string): Promise<string> {
  const list = [...rows].reverse(); // ECharts draws the first category at the bottom
  return render(
    {
      grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
      yAxis: { type: 'category', data: list.map((r) => r.label), axisLabel: { color: TEXT, fontSize: 14 }, axisLine: { lineStyle: { color: '#54555a' } } },
      xAxis: { type: 'value', minInterval: 1, axisLabel: { show: false }, splitLine: { show: false } },
      series: [{ type: 'bar', data: list.map((r) => r.n), itemStyle: { color: BAR }, label: { show: true, position: 'right', color: TEXT, fontSize: 14 }, emphasis: { disabled: true } }],
    },
    CHART_WIDTH,
    Math.max(110, 30 * list.length + 20),
    label,
  );
}
