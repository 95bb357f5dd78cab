import { readFileSync, readdirSync } from 'node:fs';

/**
 * What Linux's /proc says about processes (proc(5)); every function answers null or [] where
 * there is no /proc (macOS, say) or the process is gone, and never throws.
 */

interface Stat {
  state: string;
  pgrp: number;
  /** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
  startTime: number;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces and ')': split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  const startTime = Number(fields[19]);
  const pgrp = Number(fields[2]);
  if (!fields[0] || !Number.isFinite(startTime) || !Number.isFinite(pgrp)) return null;
  return { state: fields[0], pgrp, startTime };
}

/** The start time (clock ticks since boot) of a live process, or null (gone, a zombie, no /proc). */
export function processStartTime(pid: number): number | null {
  const stat = readStat(pid);
  return stat && stat.state !== 'Z' && stat.state !== 'X' ? stat.startTime : null;
}

/** This boot's id (/proc/sys/kernel/random/boot_id): start times are only comparable within one boot. */
export function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** The live (not zombie) processes of group `pgid`, with their start times. */
export function groupMembers(pgid: number): Array<{ pid: number; startTime: number }> {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: Array<{ pid: number; startTime: number }> = [];
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stat = readStat(pid);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') out.push({ pid, startTime: stat.startTime });
  }
  return out;
}
