// The README's five lines: a node on the embedded datastore, one request through it, stop.
import { createNode } from 'dynomite-ts';
const node = await createNode({ dataStore: 'memory' }).start();
await node.call('SET', 'greeting', 'hello');
console.log(await node.call('GET', 'greeting'), 'on port', node.port > 0);
await node.stop();
