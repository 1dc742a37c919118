/**
 * Checking that a path is a regular file before reading it. The check comes before open():
 * opening a named pipe (FIFO) for reading blocks until a writer appears, possibly forever, and a
 * character device such as /dev/zero never ends. Such a path gets an error naming what it is.
 */
import * as fs from 'fs';

/** Why `file` cannot be read as a data file ('does not exist', 'is a named pipe (FIFO)', ...), or undefined when it can. */
export function notRegularFile(file: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(e as Error).message})`;
  }
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'is a directory, not a file';
  if (st.isFIFO()) return 'is a named pipe (FIFO), not a regular file';
  if (st.isSocket()) return 'is a socket, not a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'is a device, not a regular file';
  return 'is not a regular file';
}

/**
 * open() flags for reading a file that was checked with notRegularFile(): O_NONBLOCK where it
 * exists, so a file swapped for a FIFO in between fails instead of blocking (it changes nothing
 * for regular files).
 */
export const READ_NONBLOCKING = fs.constants.O_NONBLOCK !== undefined ? fs.constants.O_RDONLY | fs.constants.O_NONBLOCK : 'r';
