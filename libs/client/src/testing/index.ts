export { FakeConnection, FakeTransport } from './fake-transport.js';
export { ManualClock } from './manual-clock.js';
