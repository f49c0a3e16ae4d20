/**
 * The buffered log output a service's hot path writes through (createJsonLogOutput, built): hot
 * lines wait in a buffer, yet none is lost when the process exits right after writing them, a
 * redacted line written later comes out after them, in order, and a lone hot line still shows up
 * within its flush interval while the process keeps running.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const LOGGER = pathToFileURL(join(resolve(fileURLToPath(import.meta.url), '../../..'), 'dist/log/json-logger.js')).href;

interface Child {
  code: number | null;
  stderr: string;
}

/**
 * Runs `body` (ES module code with `output`, the service's JsonLogOutput, in scope) in a fresh node;
 * with `marker`, SIGKILLs it killAfterMs after its stderr first held the marker.
 */
function runWithOutput(body: string, { marker, killAfterMs = 0 }: { marker?: string; killAfterMs?: number } = {}): Promise<Child> {
  const script = `import { createJsonLogOutput } from ${JSON.stringify(LOGGER)};\nconst output = createJsonLogOutput({ service: 'test-service' });\n${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let marked = false;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
    if (marker && !marked && stderr.includes(marker)) {
      marked = true;
      setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    }
  });
  return new Promise((resolveRun) => child.on('close', (code) => resolveRun({ code, stderr })));
}

const lines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('createJsonLogOutput', () => {
  it('writes every buffered hot line when the process exits right after them (process.exit), in order with the redacted lines', async () => {
    const { code, stderr } = await runWithOutput(`
      for (let i = 0; i < 1000; i++) output.hot('info', 'request', { event: 'http.request', n: i });
      output.log('error', 'failed on postgresql://app:Sup3rS3cret@db.internal:5432/app', { url: 'postgresql://app:Sup3rS3cret@db.internal/app' });
      for (let i = 1000; i < 1003; i++) output.hot('info', 'request', { event: 'http.request', n: i });
      process.exit(3);
    `);
    expect(code).toBe(3);
    const all = lines(stderr);
    expect(all).toHaveLength(1004);
    const hot = all.filter((l) => l.event === 'http.request');
    expect(hot.map((l) => l.n)).toEqual(Array.from({ length: 1003 }, (_, i) => i));
    // The redacted line sits between hot line 999 and hot line 1000: one stream, one order.
    expect(all[1000]).toMatchObject({ level: 'error', service: 'test-service', msg: 'failed on postgresql://app:****@db.internal:5432/app', url: 'postgresql://app:****@db.internal/app' });
    expect(stderr).not.toContain('Sup3rS3cret');
    for (const line of hot) expect(line).toMatchObject({ level: 'info', msg: 'request', service: 'test-service', time: expect.any(String), pid: expect.any(Number) });
  });

  it('writes the buffered lines when the event loop simply ends', async () => {
    const { code, stderr } = await runWithOutput(`for (let i = 0; i < 3; i++) output.hot('info', 'request', { n: i });`);
    expect(code).toBe(0);
    expect(lines(stderr).map((l) => l.n)).toEqual([0, 1, 2]);
  });

  it('a lone hot line of a running process is written within its flush interval (100 ms), without waiting for more', async () => {
    // The child keeps running; it is killed (no exit hook runs on SIGKILL) a second after "ready" showed
    // up: ten flush intervals, room for a loaded machine; without the periodic flush the line never comes.
    const run = await runWithOutput(`output.log('info', 'ready'); output.hot('info', 'request', { event: 'http.request', n: 1 }); setInterval(() => {}, 1000);`, { marker: '"msg":"ready"', killAfterMs: 1000 });
    expect(run.code).toBeNull();
    expect(lines(run.stderr).map((l) => l.msg)).toEqual(['ready', 'request']);
  });
});
