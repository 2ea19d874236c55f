import type { WebviewToHost } from '../src/protocol/webviewMessages';

/** The part of VS Code's webview API the dashboard uses. */
interface AcquiredApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): unknown;
}

declare const acquireVsCodeApi: (() => AcquiredApi) | undefined;

export interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}

/**
 * acquireVsCodeApi() may be called once per webview. Outside VS Code (a plain browser page used
 * for a quick look) a stand-in logs the messages and keeps the state in memory.
 */
export function getVsCodeApi(): VsCodeApi {
  if (typeof acquireVsCodeApi === 'function') {
    const api = acquireVsCodeApi();
    return {
      postMessage: (message) => api.postMessage(message),
      getState: () => api.getState(),
      setState: (state) => void api.setState(state),
    };
  }
  let stored: unknown;
  return {
    postMessage: (message) => console.debug('[dashboard → host]', message),
    getState: () => stored,
    setState: (state) => {
      stored = state;
    },
  };
}
