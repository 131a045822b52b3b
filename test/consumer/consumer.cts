// Type-checked against dist/ as a CommonJS consumer on module node16 (TS1479 guard).
import { ResilientClient, ResilientError, classifyError } from 'resilient-tcp';
import { HeartbeatServer } from 'resilient-tcp/server';

export async function roundTrip(): Promise<string> {
  const server = new HeartbeatServer({ host: '127.0.0.1' });
  const { port } = await server.listen();
  const client = new ResilientClient({ host: '127.0.0.1', port });
  const kind: 'transient' | 'unavailable' | 'network' | 'fatal' = classifyError('ECONNRESET');
  await client.connect();
  await client.send('x');
  await client.close();
  await server.close();
  return `${kind} ${ResilientError.name}`;
}
