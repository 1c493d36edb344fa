// The local WebSocket-to-TCP bridge (test/support/ws-bridge.ts) in its own process, as Neon's
// wsproxy runs apart from the app: the benchmark's Node event loop then carries only the app.
// Prints the port on stdout; stops when stdin closes.
import { startWsBridge } from '../test/support/ws-bridge.ts';

const bridge = await startWsBridge();
process.stdout.write(`${bridge.port}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await bridge.close();
  process.exit(0);
});
