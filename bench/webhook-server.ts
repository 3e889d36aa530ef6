import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Bot } from 'grammy';
import type { Update } from 'grammy/types';

/** A grammY bot behind express on 127.0.0.1 (a baseline's webhook): the update is handled before the 200. */
export async function serveWebhook(bot: Pick<Bot, 'handleUpdate'>) {
  const app = express();
  app.use(express.json());
  app.post('/webhook', async (req, res) => {
    await bot.handleUpdate(req.body as Update);
    res.json({ ok: true });
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
