// Type-checked against dist/ as an ES module consumer on module node16.
import { ResilientClient, type ClientState } from 'resilient-tcp';
import { HeartbeatServer, type ConnectionInfo } from 'resilient-tcp/server';

export const state: ClientState = new ResilientClient({ port: 1 }).state;
export const rows: ConnectionInfo[] = new HeartbeatServer().connections();
