// Connection-independent server commands the embedded store answers itself: PING, ECHO, INFO,
// TIME, COMMAND COUNT, CONFIG GET (always empty), and the CLIENT container's arity check.
import { type CommandTable, type Ctx, isWord, read, str } from './command.js';
import { EMPTY_ARRAY, PONG, W, arityError, bulk, error, integer } from './resp-writer.js';

const STARTED = Date.now();

function info(ctx: Ctx, sections: string[]): Buffer {
  const all = sections.length === 0 || sections.some((s) => s === 'all' || s === 'default' || s === 'everything');
  const want = (name: string): boolean => all || sections.includes(name);
  const parts: string[] = [];
  if (want('server')) {
    parts.push(
      '# Server\r\n' +
        'redis_version:7.0.15\r\n' +
        'redis_mode:standalone\r\n' +
        'dynomite_data_store:memory\r\n' +
        `process_id:${process.pid}\r\n` +
        `uptime_in_seconds:${Math.floor((Date.now() - STARTED) / 1000)}\r\n`,
    );
  }
  if (want('keyspace')) {
    let ks = '# Keyspace\r\n';
    if (ctx.ks.size > 0) ks += `db0:keys=${ctx.ks.size},expires=${ctx.ks.volatileCount},avg_ttl=0\r\n`;
    parts.push(ks);
  }
  return bulk(Buffer.from(parts.join('\r\n'), 'latin1'));
}

/** `commandCount` is supplied by index.ts, which owns the merged table. */
export function serverCommands(commandCount: () => number): CommandTable {
  return {
    ping: read(-1, (_ctx, a) => {
      if (a.length > 2) return arityError('ping');
      return a.length === 2 ? bulk(a[1]!) : PONG;
    }),
    echo: read(2, (_ctx, a) => bulk(a[1]!)),
    info: read(-1, (ctx, a) => info(ctx, a.slice(1).map((b) => str(b).toLowerCase()))),
    time: read(1, (ctx) => {
      const us = Math.floor(ctx.now() * 1000);
      const sec = Math.floor(us / 1e6);
      return W.reset().array(2).bulkLatin1(String(sec)).bulkLatin1(String(us - sec * 1e6)).finish();
    }),
    command: read(-1, (_ctx, a) => {
      if (a.length === 2 && isWord(a[1]!, 'COUNT')) return integer(commandCount());
      if (a.length === 1) return EMPTY_ARRAY;
      return error(`ERR unknown subcommand '${str(a[1]!)}'. Try COMMAND HELP.`);
    }),
    config: read(-2, (_ctx, a) => {
      if (isWord(a[1]!, 'GET')) return a.length >= 3 ? EMPTY_ARRAY : arityError('config|get');
      return error(`ERR unknown subcommand '${str(a[1]!)}'. Try CONFIG HELP.`);
    }),
    client: read(-2, (_ctx, a) => error(`ERR unknown subcommand '${str(a[1]!)}'. Try CLIENT HELP.`)),
  };
}
