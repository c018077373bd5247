// Headless Chromium (Debian's package) driven by playwright-core for the web-app tests: every
// console error and page error is recorded, so a test can fail on any of them; a failed API
// response that a test provokes on purpose (a wrong key) is declared first and then allowed.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type ConsoleMessage, type Page } from 'playwright-core';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

/** Debian's chromium (CHROMIUM_PATH overrides); .ci/run installs it when missing. */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error('chromium is not installed: apt-get install -y chromium (or set CHROMIUM_PATH)');
  return found;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS, headless: true });
}

export interface Problem {
  kind: 'console' | 'pageerror';
  text: string;
  url?: string;
}

/**
 * A page whose console errors and uncaught errors are collected. `expectFailedResponse(path,
 * status)` allows the next "Failed to load resource" console error for that status (Chromium logs
 * one for every non-2xx fetch) when it comes from `path`.
 */
export class WatchedPage {
  readonly problems: Problem[] = [];
  private readonly allowed: Array<{ path: string; status: number }> = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('console', (message) => this.onConsole(message));
    page.on('pageerror', (error) => this.problems.push({ kind: 'pageerror', text: `${error.name}: ${error.message}` }));
  }

  static async open(browser: Browser, viewport = { width: 1280, height: 720 }): Promise<WatchedPage> {
    const context = await browser.newContext({ viewport, acceptDownloads: true, locale: 'en-GB', colorScheme: 'light' });
    return new WatchedPage(context, await context.newPage());
  }

  expectFailedResponse(path: string, status: number): void {
    this.allowed.push({ path, status });
  }

  private onConsole(message: ConsoleMessage): void {
    if (message.type() !== 'error') return;
    const url = message.location().url;
    const status = /the server responded with a status of (\d+)/.exec(message.text())?.[1];
    if (status) {
      const index = this.allowed.findIndex((a) => a.status === Number(status) && new URL(url).pathname === a.path);
      if (index >= 0) {
        this.allowed.splice(index, 1);
        return;
      }
    }
    this.problems.push({ kind: 'console', text: message.text(), url });
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

/** Numbered full-page screenshots into one folder, emptied at the start. */
export class Screenshots {
  private count = 0;
  readonly files: string[] = [];

  constructor(readonly dir: string) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }

  async take(page: Page, name: string): Promise<string> {
    this.count++;
    const file = join(this.dir, `${String(this.count).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: false, animations: 'disabled' });
    this.files.push(file);
    return file;
  }
}
