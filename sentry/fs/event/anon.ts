// Files without a filesystem behind them (epoll, eventfd, timerfd, signalfd): Linux gives
// them all one "anonymous inode", which is what fstat reports.
import type { Stat } from "../../vfs/inode.ts";

/** st_dev of anon_inodefs (an anonymous device number; any fixed one will do). */
export const ANON_INODE_DEV = 0xe;
const ANON_INODE_INO = 1;

export function anonStat(): Stat {
  return {
    dev: ANON_INODE_DEV,
    ino: ANON_INODE_INO,
    mode: 0o600,
    nlink: 1,
    uid: 0,
    gid: 0,
    rdev: 0,
    size: 0,
    blksize: 4096,
    blocks: 0,
    atimeNs: 0,
    mtimeNs: 0,
    ctimeNs: 0,
  };
}
