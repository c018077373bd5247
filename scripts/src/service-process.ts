import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';

// One labelloop service as a child process: JSON logs to a file, plain (non-JSON) lines — such as
// the gateway's one-time admin key banner — handed to onPlainLine. A plain line onPlainLine calls
// 'secret' is kept out of the log file (a key must never end up in a log).

const WITHHELD = '[a line printed by the service was withheld from this log: it holds a secret]';

export interface ServiceProcessOptions {
  name: string;
  entry: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  nodeArgs?: string[];
  onPlainLine?: (line: string) => void | 'secret';
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export class ServiceProcess {
  private child: ChildProcess | undefined;
  private log: WriteStream | undefined;
  private stopping = false;

  constructor(private readonly options: ServiceProcessOptions) {}

  get name(): string {
    return this.options.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    const { entry, env, logFile, nodeArgs = [] } = this.options;
    this.stopping = false;
    this.log = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(process.execPath, [...nodeArgs, entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let pending = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (data: string) => {
      pending += data;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        const secret = line && !line.startsWith('{') ? this.options.onPlainLine?.(line) === 'secret' : false;
        this.log?.write(`${secret ? WITHHELD : line}\n`);
        newline = pending.indexOf('\n');
      }
    });
    child.stderr?.on('data', (data: Buffer) => this.log?.write(data));
    child.once('exit', (code, signal) => {
      this.child = undefined;
      if (pending) this.log?.write(pending);
      pending = '';
      this.log?.end();
      if (!this.stopping) this.options.onExit?.(code, signal);
    });
  }

  /** SIGTERM, then SIGKILL after graceMs. */
  async stop(graceMs = 15000): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  /** Ends the process at once, as a crash would. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  logTail(lines = 20): string {
    try {
      return readFileSync(this.options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}
