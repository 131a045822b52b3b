/**
 * docs/observability.md's Prometheus recipe, run as written: the block is
 * compiled to CommonJS and evaluated with the real prom-client, then a client
 * talks to a real HeartbeatServer and the scrape text is read back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import * as ts from 'typescript';
import { ResilientClient } from '../../src';
import { HeartbeatServer } from '../../src/server';
import { codeBlocks } from '../support/code-blocks';
import { waitFor } from '../support/events';
import { useCleanup } from '../support/lifecycle';

const DOC = 'docs/observability.md';

/** The recipe's `exportMetrics`, from the doc's `file=metrics.ts` block. */
function loadRecipe(): (register: Registry) => () => void {
  const text = fs.readFileSync(path.join(__dirname, '..', '..', DOC), 'utf8');
  const block = codeBlocks(DOC, text).find((b) => b.file === 'metrics.ts');
  if (!block) throw new Error(`${DOC} has no file=metrics.ts block`);
  const js = ts.transpileModule(block.code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  const mod: { exports: Record<string, unknown> } = { exports: {} };
  new Function('require', 'module', 'exports', js)(require, mod, mod.exports);
  return mod.exports.exportMetrics as (register: Registry) => () => void;
}

/** The value of one sample line of the scrape text, e.g. `name{label="x"}`. */
function sample(scrape: string, series: string): number | undefined {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('the Prometheus recipe in docs/observability.md', () => {
  const cleanup = useCleanup();

  it('counts state changes, connects, closes, messages and bytes, observes RTT, and tracks server connections', async () => {
    const register = new Registry();
    const stop = loadRecipe()(register);
    cleanup.push(stop);
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, heartbeat: { intervalMs: 50, timeoutMs: 1000 } });
    cleanup.push(() => client.close(), () => server.close());
    await client.connect();
    await client.send('hello'); // 5 bytes
    await client.send('world!'); // 6 bytes
    await waitFor(client, 'heartbeat');
    const whileOpen = await register.metrics();
    expect(sample(whileOpen, 'resilient_tcp_server_connections')).toBe(1);
    await client.close();
    await server.close();

    const scrape = await register.metrics();
    expect(sample(scrape, 'resilient_tcp_client_state_changes_total{to="open"}')).toBe(1);
    expect(sample(scrape, 'resilient_tcp_client_state_changes_total{to="closed"}')).toBe(1);
    expect(sample(scrape, 'resilient_tcp_client_connects_total')).toBe(1);
    expect(sample(scrape, 'resilient_tcp_client_closes_total{code="none"}')).toBe(1);
    expect(sample(scrape, 'resilient_tcp_client_messages_total{direction="out"}')).toBe(2);
    expect(sample(scrape, 'resilient_tcp_client_message_bytes_total{direction="out"}')).toBe(11);
    expect(sample(scrape, 'resilient_tcp_client_rtt_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(scrape, 'resilient_tcp_server_connections')).toBe(0);
  });
});
