/**
 * The package's version for `--version`, read from package.json at run time:
 * the command runs from src/cli/ (tsx) and from dist/ (the build), at
 * different depths, so it looks upward for the package.json named
 * resilient-tcp rather than hard-coding a relative path.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const NAME = 'resilient-tcp';
/** src/cli/ is two levels below the package root; a little slack for other layouts. */
const MAX_LEVELS = 4;

export function packageVersion(from: string = __dirname): string {
  let dir = from;
  for (let i = 0; i < MAX_LEVELS; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === NAME && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no (readable) package.json at this level: keep looking upward
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}
