import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerJson, serveLocal } from '../test/fakes/local-server.ts';

/**
 * The county's receiver as the fault benchmark plays it (INTAKE_WEBHOOK_URL): it records every POST (its
 * Idempotency-Key header, the event and lead it carries, whether the X-Signature is right, what it answered) and
 * answers 500 while `down`, else 200. It keeps no personal data beyond the run (the bodies are parsed and dropped).
 */

export type Post = {
  at: number;
  /** the Idempotency-Key header ('' when missing) */
  key: string;
  /** body.idempotencyKey (should equal the header) */
  bodyKey: string;
  event: string;
  leadId: string;
  signatureOk: boolean;
  status: number;
};

function signatureOk(secret: string, header: string | undefined, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const want = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(want, Buffer.from(m[2]!, 'hex'));
}

export async function startReceiver(secret: string) {
  const posts: Post[] = [];
  const state = { down: false };

  function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    if (req.method !== 'POST') return answerJson(res, 404, { error: 'not found' });
    const text = raw.toString('utf8');
    let body: { event?: string; idempotencyKey?: string; lead?: { leadId?: string } } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // recorded with empty fields: a malformed delivery counts against forwarding
    }
    const status = state.down ? 500 : 200;
    posts.push({
      at: performance.now(),
      key: String(req.headers['idempotency-key'] ?? ''),
      bodyKey: String(body.idempotencyKey ?? ''),
      event: String(body.event ?? ''),
      leadId: String(body.lead?.leadId ?? ''),
      signatureOk: signatureOk(secret, req.headers['x-signature'] as string | undefined, text),
      status,
    });
    answerJson(res, status, status === 200 ? { ok: true } : { error: 'receiver down (bench)' });
  }

  const { url, close } = await serveLocal(handle);
  return { url: `${url}/intake/hook`, posts, state, close };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
