import type { RegisterPacket } from '../../protocol/packets.js';
import { hostOf } from '../../auth/gate.js';
import type { Handler } from './types.js';

/**
 * A guest claims the name it is logged in with (servers run with `--registration open`). On
 * success this connection is logged into the new account and gets a token; other connections
 * still using the name as guests are ended, so none of them receives the account's messages.
 */
export const register: Handler<RegisterPacket> = {
  preHello: false,
  postHello: true,
  async handle(ctx, s, p) {
    const { login, token } = await ctx.auth.register(s, p.password, hostOf(s.conn.remote));
    s.reply({ type: 'registered', username: login.name, token });
    for (const other of [...(ctx.hub.users.get(login.name) ?? [])]) {
      const why = other === s ? null : ctx.auth.revoked(other);
      if (why !== null) other.close(why, { error: 'auth_required' });
    }
  },
};
