import type { Logger } from './log.ts';
import { errorFields } from './errors.ts';

/**
 * A worker that runs `round` every `intervalMs`, one round at a time (a round still running makes the next one
 * skip), until stop(), which waits for the round in flight. Used by the forwarding outbox and the staff outbox.
 */
export function createRounds(round: () => Promise<unknown>, logger: Logger, failure: string) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  return {
    start(intervalMs: number) {
      if (timer) return;
      timer = setInterval(() => {
        if (running) return;
        running = round()
          .catch((e: unknown) => logger.error({ err: errorFields(e) }, failure))
          .finally(() => (running = undefined));
      }, intervalMs);
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
