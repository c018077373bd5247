import { resolve } from 'node:path';
import { startLabelloop } from './launcher.js';

// `npm start`: labelloop on this machine with embedded defaults; Ctrl-C stops it.

const dataDir = resolve(process.env.LABELLOOP_DATA_DIR ?? '.labelloop');
const say = (line: string) => process.stdout.write(`${line}\n`);

say(`labelloop: starting (data in ${dataDir}) ...`);
try {
  const labelloop = await startLabelloop({ dataDir, log: say });
  say('');
  say(`labelloop is running: ${labelloop.gatewayUrl}`);
  say(`  REST API   ${labelloop.gatewayUrl}/v1/datasets   (OpenAPI: ${labelloop.gatewayUrl}/openapi.json)`);
  if (labelloop.adminKey) {
    say(`  admin key  ${labelloop.adminKey}`);
    say('             (shown once: keep it; it is stored only as a hash)');
  } else if (process.env.LABELLOOP_ADMIN_KEY) {
    say('  admin key  the value of LABELLOOP_ADMIN_KEY');
  } else {
    say('  admin key  the one printed at the first start (or set LABELLOOP_ADMIN_KEY)');
  }
  say(`  logs       ${dataDir}/logs/`);
  say('Press Ctrl-C to stop.');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('labelloop: stopping ...');
    await labelloop.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  for (const service of labelloop.services.values()) {
    // A service that dies takes the whole local run down, loudly.
    const poll = setInterval(() => {
      if (service.pid === undefined && !stopping) {
        clearInterval(poll);
        say(`labelloop: ${service.name} stopped unexpectedly; see ${dataDir}/logs/${service.name}.log`);
        void stop().then(() => process.exit(1));
      }
    }, 1000);
  }
} catch (err) {
  say(`labelloop: could not start: ${(err as Error).message}`);
  process.exit(1);
}
