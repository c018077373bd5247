import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Installs a Debian package when this process may (root, apt-get present). Returns false when it
 * cannot or when apt-get fails, so the caller can print its own hint.
 */
export function aptInstall(pkg: string, log: (line: string) => void): boolean {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) return false;
  log(`installing ${pkg} with apt-get ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { stdio: 'ignore', env }).status === 0;
  if (install()) return true;
  spawnSync('apt-get', ['update'], { stdio: 'ignore', env });
  return install();
}
