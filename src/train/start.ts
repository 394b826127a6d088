/** `npm start`: make sure the demo bundle exists and is current, then serve the demo page. */
import { createServer } from 'vite';
import { ensureDemoBundle } from './demo-bundle.ts';

await ensureDemoBundle();
const server = await createServer({ server: { port: Number(process.env.PORT ?? 5173) } });
await server.listen();
console.log('\nlocalrank demo:');
server.printUrls();
