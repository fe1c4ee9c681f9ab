// Connection commands the node answers itself (CLIENT, SELECT, ECHO, RESET, QUIT, COMMAND, INFO,
// CONFIG GET), over a node on redis and one on the embedded store, byte for byte where Redis 7 is
// deterministic.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RawClient, cmd } from './helpers/resp-client.js';
import { startRedis, type RunningServer } from './helpers/servers.js';
import { startTestNode } from './helpers/node.js';
import type { RunningNode } from '../src/node.js';

let redis: RunningServer;
let overRedis: RunningNode;
let overMemory: RunningNode;

beforeAll(async () => {
  redis = await startRedis();
  overRedis = await startTestNode({ dataStore: 'redis', server: { host: '127.0.0.1', port: redis.port } });
  overMemory = await startTestNode({ dataStore: 'memory' });
});

afterAll(async () => {
  await Promise.all([overRedis?.close(), overMemory?.close()]);
  await redis?.stop();
});

async function send(port: number, ...commands: string[][]): Promise<string[]> {
  const c = await RawClient.connect(port);
  try {
    c.write(Buffer.concat(commands.map((a) => cmd(...a))));
    return (await c.replies(commands.length)).map((b) => b.toString('latin1'));
  } finally {
    c.close();
  }
}

describe.each([
  { name: 'over redis', port: () => overRedis.port, store: 'redis' },
  { name: 'embedded store', port: () => overMemory.port, store: 'memory' },
])('connection commands, $name', (t) => {
  test('CLIENT SETNAME / GETNAME / ID / INFO / SETINFO / NO-EVICT / NO-TOUCH', async () => {
    const r = await send(t.port(),
      ['CLIENT', 'GETNAME'], ['CLIENT', 'SETNAME', 'app-1'], ['CLIENT', 'GETNAME'], ['CLIENT', 'ID'],
      ['CLIENT', 'SETINFO', 'LIB-NAME', 'mylib'], ['CLIENT', 'SETINFO', 'lib-ver', '1.2'], ['CLIENT', 'SETINFO', 'x', 'y'],
      ['CLIENT', 'NO-EVICT', 'on'], ['CLIENT', 'NO-TOUCH', 'off'], ['CLIENT', 'NO-EVICT', 'maybe'], ['CLIENT', 'SETNAME', 'a b'],
      ['CLIENT', 'INFO'], ['CLIENT', 'BOGUS']);
    expect(r.slice(0, 3)).toEqual(['$-1\r\n', '+OK\r\n', '$5\r\napp-1\r\n']);
    const id = Number(/^:(\d+)\r\n$/.exec(r[3]!)![1]);
    expect(id).toBeGreaterThan(0);
    expect(r.slice(4, 11)).toEqual(['+OK\r\n', '+OK\r\n', "-ERR Unrecognized option 'x'\r\n", '+OK\r\n', '+OK\r\n',
      '-ERR syntax error\r\n', '-ERR Client names cannot contain spaces, newlines or special characters.\r\n']);
    expect(r[11]).toMatch(new RegExp(`^\\$\\d+\\r\\nid=${id} addr=127\\.0\\.0\\.1:\\d+ laddr=127\\.0\\.0\\.1:\\d+ .*name=app-1 .*flags=e .*db=0 .*user=default .*resp=2 lib-name=mylib lib-ver=1\\.2\\n\\r\\n$`));
    expect(r[12]).toBe("-ERR unknown subcommand 'BOGUS'. Try CLIENT HELP.\r\n");
  });

  test('CLIENT LIST shows every connection of the node; RESP3 gets a verbatim string', async () => {
    const other = await RawClient.connect(t.port());
    try {
      other.write(cmd('CLIENT', 'SETNAME', 'watcher'));
      await other.replies(1);
      const [list, info3] = await send(t.port(), ['CLIENT', 'LIST'], ['HELLO', '3'], ['CLIENT', 'INFO']).then((r) => [r[0]!, r[2]!]);
      expect(list).toContain('name=watcher ');
      expect(list.split('\n').filter((l) => l.includes('id=')).length).toBeGreaterThanOrEqual(2);
      expect(info3).toMatch(/^=\d+\r\ntxt:id=\d+ .*resp=3 .*\n\r\n$/);
    } finally {
      other.close();
    }
  });

  test('CLIENT REPLY OFF / SKIP / ON', async () => {
    const c = await RawClient.connect(t.port());
    try {
      c.write(Buffer.concat([cmd('CLIENT', 'REPLY', 'OFF'), cmd('SET', 'rk', '1'), cmd('GET', 'rk'), cmd('CLIENT', 'REPLY', 'ON'),
        cmd('ECHO', 'a'), cmd('CLIENT', 'REPLY', 'SKIP'), cmd('ECHO', 'b'), cmd('ECHO', 'c')]));
      const r = (await c.replies(3)).map((b) => b.toString('latin1'));
      expect(r).toEqual(['+OK\r\n', '$1\r\na\r\n', '$1\r\nc\r\n']);
      await new Promise((res) => setTimeout(res, 50));
      expect(c.buf.length).toBe(0);
    } finally {
      c.close();
    }
  });

  test('SELECT 0 is OK, another database an error; ECHO; RESET; QUIT', async () => {
    const r = await send(t.port(), ['SELECT', '0'], ['SELECT', '1'], ['SELECT', 'x'], ['ECHO', 'hello'],
      ['CLIENT', 'SETNAME', 'n1'], ['HELLO', '3'], ['RESET'], ['CLIENT', 'GETNAME'], ['GET', 'none-key']);
    expect(r.slice(0, 4)).toEqual(['+OK\r\n', '-ERR DB index is out of range (this proxy has one database: 0)\r\n',
      '-ERR value is not an integer or out of range\r\n', '$5\r\nhello\r\n']);
    expect(r.slice(6)).toEqual(['+RESET\r\n', '$-1\r\n', '$-1\r\n']);
    const c = await RawClient.connect(t.port());
    c.write(Buffer.concat([cmd('QUIT'), cmd('PING')]));
    expect((await c.replies(1))[0]!.toString()).toBe('+OK\r\n');
    await c.waitClosed();
  });

  test('COMMAND COUNT / LIST / INFO / DOCS / HELP come from the command table', async () => {
    const r = await send(t.port(), ['COMMAND', 'COUNT'], ['COMMAND', 'INFO', 'get', 'nosuch', 'eval'],
      ['COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'hget*'], ['COMMAND', 'DOCS', 'set'], ['COMMAND', 'HELP'], ['COMMAND', 'NOPE']);
    const count = Number(/^:(\d+)/.exec(r[0]!)![1]);
    expect(count).toBe(overMemory.core.exports.cmdCount());
    expect(r[1]).toBe('*3\r\n*10\r\n$3\r\nget\r\n:2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n*1\r\n+@read\r\n*0\r\n*0\r\n*0\r\n' +
      '$-1\r\n*10\r\n$4\r\neval\r\n:-3\r\n*2\r\n+write\r\n+movablekeys\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@scripting\r\n*0\r\n*0\r\n*0\r\n');
    expect(r[2]).toBe('*2\r\n$4\r\nhget\r\n$7\r\nhgetall\r\n');
    expect(r[3]).toMatch(/^\*2\r\n\$3\r\nset\r\n\*4\r\n\$7\r\nsummary\r\n/);
    expect(r[4]).toMatch(/^\*\d+\r\n\+COMMAND <subcommand>/);
    expect(r[5]).toBe("-ERR unknown subcommand 'NOPE'. Try COMMAND HELP.\r\n");
  });

  test("INFO has the node's section and the datastore's", async () => {
    const [all, server, dyn] = await send(t.port(), ['INFO'], ['INFO', 'server'], ['INFO', 'dynomite']);
    expect(all).toMatch(/^\$\d+\r\n# Dynomite\r\ndynomite_version:\S+\r\n/);
    expect(all).toContain(`data_store:${t.store}\r\n`);
    expect(all).toContain('# Server\r\nredis_version:');
    expect(server).toMatch(/^\$\d+\r\n# Server\r\n/);
    expect(server).not.toContain('# Dynomite');
    expect(dyn).toMatch(/^\$\d+\r\n# Dynomite\r\n/);
  });

  test('CONFIG GET answers what redis-benchmark and clients ask', async () => {
    const r = await send(t.port(), ['CONFIG', 'GET', 'save'], ['CONFIG', 'GET', 'appendonly'], ['CONFIG', 'GET', 'databases', 'maxmemory*'],
      ['CONFIG', 'GET', 'nosuch'], ['HELLO', '3'], ['CONFIG', 'GET', 'save']);
    expect(r.slice(0, 4)).toEqual(['*2\r\n$4\r\nsave\r\n$0\r\n\r\n', '*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n',
      '*6\r\n$9\r\ndatabases\r\n$1\r\n1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n', '*0\r\n']);
    expect(r[5]).toBe('%1\r\n$4\r\nsave\r\n$0\r\n\r\n');
  });
});
