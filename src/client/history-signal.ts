/**
 * "The shopper's history changed": told to the listeners of the recommender that changed it at once, and to every
 * other recommender of this origin (other shelves' recommenders, other tabs) through a BroadcastChannel, since they
 * all read the same IndexedDB history. Carries nothing beyond this origin.
 */
import type { HistoryEvent } from '../history/event.ts';

export interface HistoryChange {
  /** 'track': an event was stored; 'forget': the history was erased. */
  reason: 'track' | 'forget';
  /** The stored event, for 'track'. */
  event?: HistoryEvent;
  /** True when another recommender (another tab, or another recommender on this page) made the change. */
  remote: boolean;
}

export type HistoryListener = (change: HistoryChange) => void;

export const HISTORY_CHANNEL = 'localrank-history';

interface Message {
  source: string;
  reason: HistoryChange['reason'];
  event?: HistoryEvent;
}

export class HistorySignal {
  private readonly listeners = new Set<HistoryListener>();
  private channel: BroadcastChannel | undefined;
  private readonly id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  private closed = false;

  /** `onRemote` runs before the listeners hear of a change made elsewhere (the worker drops its cached history). */
  constructor(private readonly onRemote: () => void = () => {}) {}

  subscribe(listener: HistoryListener): () => void {
    if (this.closed) return () => {};
    this.listeners.add(listener);
    this.open();
    return () => void this.listeners.delete(listener);
  }

  /** This recommender changed the history. */
  changed(reason: HistoryChange['reason'], event?: HistoryEvent): void {
    if (this.closed) return;
    this.emit({ reason, ...(event && { event }), remote: false });
    const message: Message = { source: this.id, reason, ...(event && { event }) };
    try {
      this.open()?.postMessage(message);
    } catch {
      // A closed or unavailable channel only costs other tabs a live update.
    }
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.channel?.close();
    this.channel = undefined;
  }

  private open(): BroadcastChannel | undefined {
    if (this.channel || this.closed || typeof BroadcastChannel === 'undefined') return this.channel;
    const channel = new BroadcastChannel(HISTORY_CHANNEL);
    channel.addEventListener('message', (e: MessageEvent<Message>) => {
      const m = e.data;
      if (!m || m.source === this.id || (m.reason !== 'track' && m.reason !== 'forget')) return;
      this.onRemote();
      this.emit({ reason: m.reason, ...(m.event && { event: m.event }), remote: true });
    });
    // Node (unit tests) keeps a process alive for an open channel; a browser has no unref.
    (channel as BroadcastChannel & { unref?: () => void }).unref?.();
    this.channel = channel;
    return channel;
  }

  private emit(change: HistoryChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (error) {
        // One failing listener must not stop the others, nor reach the caller of track().
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
