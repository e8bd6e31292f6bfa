// Turns a command's answer or error into the sentence the user sees.

import { EngineError } from './transport';
import { t } from './i18n.svelte';

export type NoticeValue = { kind: 'ok' | 'warn' | 'error'; text: string };

const OK = new Set(['Accepted', 'Unlocked', 'Scheduled']);
const KNOWN = new Set(['Accepted', 'Rejected', 'Scheduled', 'Unlocked', 'UnlockFailed', 'NotSupported']);

/** A charger's answer `{status: …}` to `action` (a label the user recognises). */
export function answerNotice(action: string, response: Record<string, unknown>): NoticeValue {
  const status = typeof response.status === 'string' ? response.status : 'Accepted';
  const text = KNOWN.has(status)
    ? t(`answer.${status}` as Parameters<typeof t>[0], { action })
    : t('answer.other', { action, status });
  return { kind: OK.has(status) ? 'ok' : 'warn', text };
}

/** An error from the engine, by its code. */
export function errorNotice(e: unknown): NoticeValue {
  if (e instanceof EngineError) {
    if (e.code === 'station_offline' || e.code === 'timeout') return { kind: 'error', text: t(`error.${e.code}`) };
    if (e.code === 'call_error') return { kind: 'error', text: t('error.call_error', { message: e.message }) };
    return { kind: 'error', text: t('error.generic', { message: e.message }) };
  }
  return { kind: 'error', text: String(e) };
}

/** Run an action; an error from it becomes the notice shown. Resolves to whether it succeeded. */
export async function attempt(show: (n: NoticeValue) => void, action: () => Promise<unknown>): Promise<boolean> {
  try {
    await action();
    return true;
  } catch (e) {
    show(errorNotice(e));
    return false;
  }
}
