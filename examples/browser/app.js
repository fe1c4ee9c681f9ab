// The page: paste a RESP stream, see its frames and the ring token of every key.
import { HASH_NAMES, latin1, loadCore, pastedBytes } from './dynomite-core.js';

const $ = (id) => document.getElementById(id);
const wasmUrl = new URLSearchParams(location.search).get('wasm') ?? new URL('../../build/release.wasm', import.meta.url).href;

const hashSel = $('hash');
for (const name of HASH_NAMES) hashSel.add(new Option(name, name, name === 'murmur', name === 'murmur'));

function printable(bytes) {
  return latin1(bytes).replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function cell(tr, text, cls) {
  const td = tr.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function render(core) {
  core.configureHash(hashSel.value, $('tag').value);
  const bytes = pastedBytes($('stream').value, { crlf: $('crlf').checked, escapes: $('escapes').checked });
  const { frames, consumed, need, error } = core.frameRequests(bytes);
  const body = $('frames').tBodies[0];
  body.replaceChildren();
  frames.forEach((f, i) => {
    const tr = body.insertRow();
    tr.dataset.frame = String(i);
    cell(tr, String(i + 1));
    cell(tr, `${f.start}+${f.length}`);
    cell(tr, f.command, 'cmd');
    cell(tr, String(f.argc));
    const keys = cell(tr, '', 'keys');
    for (const k of f.keys) {
      const div = document.createElement('div');
      div.className = 'key';
      div.dataset.token = String(k.token);
      div.innerHTML = '<code></code> <span class="token"></span>';
      div.querySelector('code').textContent = printable(k.key);
      div.querySelector('.token').textContent = `${k.token} (0x${k.token.toString(16).padStart(8, '0')})`;
      keys.append(div);
    }
    cell(tr, f.err ? core.nameOf('ERR_', f.err) : '', 'err');
  });
  const parts = [`${frames.length} request${frames.length === 1 ? '' : 's'} in ${bytes.length} bytes, hash ${hashSel.value}`];
  if (error) parts.push(`protocol error ${core.nameOf('E_', error.code)} at byte ${error.position}`);
  else if (consumed < bytes.length) parts.push(`${bytes.length - consumed} bytes of a partial request${need ? ` (needs ${need})` : ''}`);
  $('summary').textContent = parts.join('; ');
  $('summary').className = error ? 'error' : '';
}

try {
  const core = await loadCore(wasmUrl);
  $('abi').textContent = `ABI_VERSION ${core.abi}`;
  $('frame').disabled = false;
  $('frame').addEventListener('click', () => render(core));
  for (const id of ['hash', 'tag', 'crlf', 'escapes']) $(id).addEventListener('change', () => render(core));
  render(core);
  document.body.dataset.ready = 'true';
} catch (err) {
  $('summary').textContent = `cannot load the core from ${wasmUrl}: ${err.message}`;
  $('summary').className = 'error';
  document.body.dataset.ready = 'error';
}
