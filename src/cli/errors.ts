// One line for any error that reaches the CLI: Node's system errors (ENOENT, EISDIR, EADDRINUSE, ...) become
// "file not found: X" and the like, naming the file or address; a temp file of an atomic write is reported
// as the file being written. Everything else is its message's first line.
import { statSync } from 'node:fs';
import { resolveWeightsPath } from '../io/names.ts';

const FS: Record<string, string> = {
  ENOENT: 'file not found', EISDIR: 'is a directory, not a file', ENOTDIR: 'a parent of the path is not a folder',
  EACCES: 'permission denied', EPERM: 'operation not permitted', EROFS: 'read-only file system', ENOSPC: 'no space left on the device',
  EMFILE: 'too many open files', EEXIST: 'already exists', ENOTEMPTY: 'folder not empty',
};

interface SystemError extends Error { code?: string; path?: string; dest?: string; syscall?: string; address?: string; port?: number }

/** The file an atomic write was producing, for its temp name (`out.safetensors.tmp-123-abc`). */
const realName = (p: string) => {
  // the one atomic writer's temps are `.<name>.tmp-<pid>-<rand>` beside the target (src/util/atomic-write.ts)
  const m = /^(.*\/)?\.(.+)\.tmp-\d+-[0-9a-z]+$/.exec(p);
  return m ? `${m[1] ?? ''}${m[2]}` : p.replace(/\.tmp-\d+(-[a-z0-9]+)?$/, '');
};

export function cliError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as SystemError;
  if (e.code === 'EADDRINUSE') return `address in use: ${e.address ?? 'host'}:${e.port ?? '?'} (another server is listening there; choose another --port)`;
  if (e.code === 'EADDRNOTAVAIL') return `cannot listen on ${e.address ?? 'that address'}: not an address of this machine (--host)`;
  if (e.code && FS[e.code] && e.path) {
    const file = realName(e.path);
    if (e.code === 'ENOENT' && file !== e.path) return `cannot write ${file}: its folder does not exist`;
    return `${FS[e.code]}: ${file}`;
  }
  if (e.code === 'ERR_SOCKET_BAD_PORT') return e.message.replace(/^options\.port/, '--port').split('\n')[0];
  return e.message.split('\n')[0];
}

/** Throws "file not found: X" / "is a directory, not a file: X" before a command starts work on X. */
export function checkFile(file: string, what = 'file'): void {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) throw new Error(`${what} not found: ${file}`);
  if (st.isDirectory()) throw new Error(`${what} is a directory, not a file: ${file}`);
}

/** Throws "folder not found: X" / "not a folder: X". */
export function checkDir(dir: string, what = 'folder'): void {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st) throw new Error(`${what} not found: ${dir}`);
  if (!st.isDirectory()) throw new Error(`${what} is a file, not a folder: ${dir}`);
}

/** checkFile for a --weights/--init argument: a pulled name (torchvision) stands for its cached file. */
export function checkWeights(arg: string, what = 'weights file'): void {
  checkFile(resolveWeightsPath(arg), what);
}
