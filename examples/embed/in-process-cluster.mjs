// Three nodes, one per rack, in one process: peer links over an InProcessNetwork (no sockets), each
// node with its own datastore (a Map). A write through one node lands in all three datastores.
import { createNode, InProcessNetwork, OK } from 'dynomite-ts';

const mapStore = () => {
  const data = new Map();
  return {
    data,
    execute({ command, args }) {
      if (command === 'SET') { data.set(String(args[0]), args[1]); return OK; }
      if (command === 'GET') return data.get(String(args[0])) ?? null;
      return new Error(`ERR unknown command '${command}'`);
    },
  };
};

const network = new InProcessNetwork();
const stores = [mapStore(), mapStore(), mapStore()];
const nodes = ['rack1', 'rack2', 'rack3'].map((rack, i) => createNode({ rack }, { network, datastore: stores[i] }));
await Promise.all(nodes.map((n) => n.start()));

console.log('SET', await nodes[0].call('SET', 'user:1', 'ada'));
// DC_ONE answers after the local write; the other racks get it right after.
while (stores.some((s) => !s.data.has('user:1'))) await new Promise((r) => setTimeout(r, 5));
console.log('replicas', stores.map((s) => String(s.data.get('user:1'))).join(','));
console.log('GET via rack3', await nodes[2].call('GET', 'user:1'));
console.log('peers of rack1', nodes[0].peers().map((p) => `${p.rack}:${p.state}`).join(','));
await Promise.all(nodes.map((n) => n.stop()));
