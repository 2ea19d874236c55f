/**
 * Chart colours come from VS Code's theme variables (canvas drawing can't use var() directly).
 * They are read from the body's computed style and read again when the theme changes, which VS
 * Code signals by switching the body's class (vscode-light / vscode-dark / vscode-high-contrast).
 */

export interface ChartColors {
  d: string;
  g: string;
  real: string;
  fake: string;
  axis: string;
  grid: string;
}

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
}

export function readChartColors(): ChartColors {
  return {
    d: cssVar('--vscode-charts-blue', '#3794ff'),
    g: cssVar('--vscode-charts-red', '#f14c4c'),
    real: cssVar('--vscode-charts-green', '#89d185'),
    fake: cssVar('--vscode-charts-yellow', '#cca700'),
    axis: cssVar('--vscode-descriptionForeground', '#888888'),
    grid: cssVar('--vscode-panel-border', 'rgba(128, 128, 128, 0.35)'),
  };
}

/**
 * Calls `onChange` (at most once a frame) when the theme changes: VS Code switches the body's
 * class for the theme kind, its data-vscode-theme-* attributes for the theme, and rewrites the
 * variables in the root element's style attribute (a dark-to-dark switch changes only those).
 */
export function onThemeChange(onChange: () => void): void {
  const signature = (): string =>
    [
      document.body.className,
      document.body.getAttribute('data-vscode-theme-id') ?? '',
      document.documentElement.getAttribute('style') ?? '',
    ].join('\n');
  let last = signature();
  let scheduled = false;
  const observer = new MutationObserver(() => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      const now = signature();
      if (now === last) return;
      last = now;
      onChange();
    });
  });
  observer.observe(document.body, {
    attributes: true,
    attributeFilter: ['class', 'data-vscode-theme-id', 'data-vscode-theme-kind'],
  });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });
}
