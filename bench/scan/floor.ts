// The floor of the scan benchmark: a Node process that only loads the same files with js-yaml
// (the fast YAML loader on the design card) and does nothing else. Arguments: files or directories.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => files(join(path, name)));
}

let documents = 0;
for (const arg of process.argv.slice(2)) {
  for (const file of files(arg)) documents += loadAll(readFileSync(file, 'utf8')).length;
}
if (documents === 0) process.exitCode = 3;
